# Shared by the bench scripts (source it): one way to print a figure against its
# baseline, so `make bench` (bench/all.sh) can gather every script's rows into one table.
#   bench_row FIGURE AIRLOCK BASELINE UNIT [TARGET]
# AIRLOCK and BASELINE are numbers in UNIT (s or ms); the ratio is AIRLOCK / BASELINE;
# TARGET is the highest ratio that meets the goal ("-" or absent: no target).
# Prints the row; with BENCH_ROWS set, also appends it (tab-separated) to that file.
bench_row() {
  local figure=$1 a=$2 b=$3 unit=$4 target=${5:--}
  local line
  line=$(awk -v f="$figure" -v a="$a" -v b="$b" -v u="$unit" -v t="$target" 'BEGIN {
    r = b > 0 ? a / b : 0
    met = t == "-" ? "-" : (r <= t + 0 ? "yes" : "NO")
    printf "%s\t%s %s\t%s %s\t%.2f\t%s\t%s", f, num(a), u, num(b), u, r, (t == "-" ? "-" : "<= " t), met
  }
  function num(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.3g", x) }')
  printf '%s\n' "$line" | awk -F'\t' '{ printf "%-44s %12s %12s %7s %8s %4s\n", $1, $2, $3, $4, $5, $6 }'
  if [[ -n "${BENCH_ROWS:-}" ]]; then printf '%s\t%s\n' "$(basename "$0")" "$line" >>"$BENCH_ROWS"; fi
}

# The CLI as `npm run build` leaves it: bin/airlock runs the bundle (dist/airlock/) unless a plain
# tsc wrote dist/ after it; then rebundle, so a figure is never tsc's unbundled fallback.
bench_bundled_cli() {
  [ dist/airlock/main.js -nt dist/cli/main.js ] || node scripts/bundle.mjs
}
