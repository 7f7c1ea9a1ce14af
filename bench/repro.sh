#!/usr/bin/env bash
# What `airlock repro` costs: a 2-run repro of the root example against twice a plain cold
# build of the same images (`docker build --no-cache`, the classic builder, network none)
# and twice a cold `airlock run` of the same environment, all measured in the same run (so
# the ratios are honest on whatever machine runs it); and how much of repro is comparison.
#   usage: bash bench/repro.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

node bin/airlock keygen --out "$work/key" --root "$work" >/dev/null
export AIRLOCK_SIGNING_KEY="$work/key"

# 1. the plain engine: both stages of examples/hello-c, from scratch
t0=$(now)
DOCKER_BUILDKIT=0 docker build -q --no-cache --network none -f examples/hello-c/infra/Dockerfile --target runtime \
  --build-arg CFLAGS=-O2 -t airlock-bench/repro-plain examples/hello-c >/dev/null 2>&1
t1=$(now)
docker rmi -f airlock-bench/repro-plain >/dev/null 2>&1 || true

# 2. one cold airlock run of the environment repro runs (build both images, run sealed, seal, verify)
t2=$(now)
node bin/airlock run --spec airlock.yaml --root "$work" --no-cache smoke >/dev/null 2>&1
t3=$(now)

# 3. the repro: two runs from scratch under variations, comparison, signed verdict
t4=$(now)
node bin/airlock repro --spec airlock.yaml --root "$work" --runs 2 --json >"$work/repro.jsonl" 2>/dev/null || true
t5=$(now)
# 4. the same with --strict: the comparison then measures every image again with mtimes (and they differ)
node bin/airlock repro --spec airlock.yaml --root "$work" --runs 2 --strict --json >"$work/strict.jsonl" 2>/dev/null || true

plain=$(secs "$t0" "$t1")
cold=$(secs "$t2" "$t3")
repro=$(secs "$t4" "$t5")
timings() {
  node -e '
    const r = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).at(-1);
    if (r.type !== "result") { console.error(JSON.stringify(r)); process.exit(1); }
    const t = r.timings;
    console.log(r.reproducible ? "reproducible" : "NOT-reproducible", t.totalMs, t.runsMs, t.sleepMs, t.compareMs, t.sealMs);
  ' "$1"
}
read -r verdict _total runs_ms sleep_ms compare_ms seal_ms < <(timings "$work/repro.jsonl")
read -r s_verdict s_total _runs _sleep s_compare _seal < <(timings "$work/strict.jsonl")

awk -v p="$plain" -v c="$cold" -v r="$repro" -v v="$verdict" -v rm="$runs_ms" -v sm="$sleep_ms" -v cm="$compare_ms" -v se="$seal_ms" 'BEGIN {
  printf "root example, 2-run repro           %.2f s  (%s)\n", r, v
  printf "plain cold docker build (both stages) %.2f s; twice %.2f s; repro / twice = %.2f\n", p, 2 * p, r / (2 * p)
  printf "cold airlock run (build + cell)     %.2f s; twice %.2f s; repro / twice = %.2f\n", c, 2 * c, r / (2 * c)
  printf "inside repro: runs %.2f s (of which %.2f s pause between runs), comparison %.3f s, sealing %.3f s\n", rm / 1000, sm / 1000, cm / 1000, se / 1000
  printf "comparison share of repro time      %.2f %%\n", cm / 1000 / r * 100
}'
awk -v t="$s_total" -v cm="$s_compare" -v v="$s_verdict" 'BEGIN {
  printf "with --strict: repro %.2f s (%s), comparison %.2f s = %.1f %% (strict listings re-measure every image)\n", t / 1000, v, cm / 1000, cm / t * 100
}'
