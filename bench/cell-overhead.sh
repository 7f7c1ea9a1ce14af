#!/usr/bin/env bash
# Per-step cost of an airlock cell against a plain `docker run --rm --network none`
# of the same image and command, measured in the same run (so the ratio is honest
# on whatever machine runs it). Also times a warm `airlock smoke`.
#   usage: bash bench/cell-overhead.sh [STEPS]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# A spec with STEPS steps of `true` in one environment on airlock/busybox.
{
  printf 'version: 1\nname: bench\nimages:\n  box: { dockerfile: Dockerfile, context: . }\nenvironments:\n  cell:\n    image: box\n    steps:\n'
  for i in $(seq 1 "$STEPS"); do printf '      - { name: s%d, run: ["true"] }\n' "$i"; done
} >"$work/airlock.yaml"
printf 'FROM airlock/busybox\n' >"$work/Dockerfile"
export AIRLOCK_ROOT="$work"
node bin/airlock keygen --out "$work/key" --root "$work" >/dev/null
export AIRLOCK_SIGNING_KEY="$work/key"

# Warm-up: build the image once so neither side pays for it.
node bin/airlock run --spec "$work/airlock.yaml" --root "$work" >/dev/null 2>&1
# the image airlock built (tagged by variant: airlock.local/<spec>/<image>:<args hash>)
image=$(docker images airlock.local/bench/box --format '{{.Repository}}:{{.Tag}}' | head -1)

t0=$(now)
for _ in $(seq 1 "$STEPS"); do docker run --rm --network none "$image" true; done
t1=$(now)
node bin/airlock run --spec "$work/airlock.yaml" --root "$work" --rerun --json >"$work/events.jsonl" 2>/dev/null
t2=$(now)

docker_total=$(secs "$t0" "$t1")
airlock_total=$(secs "$t1" "$t2")
exec_sum=$(node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  console.log((lines.filter(e => e.type === "step-finished").reduce((t, e) => t + e.durationMs, 0) / 1000).toFixed(3));
' "$work/events.jsonl")

awk -v n="$STEPS" -v d="$docker_total" -v a="$airlock_total" -v x="$exec_sum" 'BEGIN {
  printf "steps                         %d\n", n
  printf "plain docker run, per step    %.1f ms  (total %.2f s)\n", d / n * 1000, d
  printf "airlock run, per step         %.1f ms  (total %.2f s: build check, seal, verify-ready bundle included)\n", a / n * 1000, a
  printf "airlock step exec only        %.1f ms per step\n", x / n * 1000
  printf "ratio airlock/docker (total)  %.2f\n", a / d
}'

source bench/lib.sh
bench_row "$STEPS steps: one airlock cell vs docker runs" "$airlock_total" "$docker_total" s

t3=$(now)
env -u AIRLOCK_ROOT -u AIRLOCK_SIGNING_KEY node bin/airlock smoke >/dev/null 2>&1 || echo "warning: airlock smoke failed" >&2
t4=$(now)
echo "warm airlock smoke            $(secs "$t3" "$t4") s"
