#!/usr/bin/env bash
# Start-up of the CLI against a bare `node -e 0`, measured in the same run so the
# ratios hold on whatever machine runs them (issue 12, item 1).
#   usage: [BUNDLE=proofs/<id>] bash bench/startup.sh [RUNS]   (default 20)
# Prints: figure, airlock, baseline, ratio, target, met.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
source bench/lib.sh
bench_bundled_cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A bundle to verify: BUNDLE if set, else one made now by a one-step run in a
# throwaway workspace (needs the engine and airlock/busybox) — small, so the
# figure is start-up, not re-hashing megabytes. Verified with its workspace's keys.
bundle=${BUNDLE:-}
if [[ -z "$bundle" ]]; then
  # the context is box/ alone: the spec's folder is the workspace, whose artifacts/ must stay out of it
  mkdir "$work/box"
  printf 'version: 1\nname: startup\nimages:\n  box: { dockerfile: box/Dockerfile, context: box }\nenvironments:\n  cell:\n    image: box\n    steps:\n      - { name: t, run: ["true"] }\n' >"$work/airlock.yaml"
  printf 'FROM airlock/busybox\n' >"$work/box/Dockerfile"
  node bin/airlock keygen --out "$work/key" --root "$work" >/dev/null
  AIRLOCK_SIGNING_KEY="$work/key" node bin/airlock run -f "$work/airlock.yaml" >/dev/null 2>&1 || {
    echo "bench/startup.sh: could not make a bundle (is the engine up? make setup)" >&2
    exit 1
  }
  bundle=$(ls -d "$work"/proofs/*/ | head -1)
fi
verify="node bin/airlock verify $bundle --root $(dirname "$(dirname "$(realpath "$bundle")")")"
$verify >/dev/null

# Median wall time in seconds of each command line over RUNS rounds after 3 warm-up rounds.
# Each round runs the three once, in turn, so a baseline and its figures share the machine's
# load as it drifts (on a busy machine, timing one command's runs after another's skewed the
# ratios by 2x). Run directly, not through a shell, so no shell start-up is in any figure.
cmds=("node -e 0" "node bin/airlock --help" "$verify")
for c in 0 1 2; do : >"$work/t$c"; done
for i in $(seq 1 $((RUNS + 3))); do
  for c in 0 1 2; do
    t0=$(date +%s%N)
    ${cmds[$c]} >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    ((i > 3)) && echo $(((t1 - t0) / 1000)) >>"$work/t$c"
  done
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.4f\n", m / 1e6 }'; }
base=$(median "$work/t0")
help=$(median "$work/t1")
verify=$(median "$work/t2")
# bin/airlock runs tsc's unbundled output when a plain tsc ran after the bundle (another build meanwhile)
[ dist/airlock/main.js -nt dist/cli/main.js ] || echo "bench/startup.sh: tsc wrote dist/ during the run; some runs may be of the unbundled fallback" >&2

ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
bench_row "start-up: --help vs node -e 0" "$(ms "$help")" "$(ms "$base")" ms 2
bench_row "start-up: verify vs node -e 0" "$(ms "$verify")" "$(ms "$base")" ms 3
