#!/usr/bin/env bash
# What `airlock repro` costs: a 2-run repro of the root example against two cold `airlock run`s
# of the same environments (those repro selects: every one with outputs) and against twice a
# plain cold build of the same images (`docker build --no-cache`, the classic builder, network
# none), all measured in the same run (so the ratios are honest on whatever machine runs it);
# and how much of repro is comparison.
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

# the environments repro runs: every one with outputs (all of them when none has any)
envs=$(node -e '
  const spec = require("yaml").parse(require("fs").readFileSync("airlock.yaml", "utf8"));
  const all = Object.keys(spec.environments), out = all.filter((e) => (spec.environments[e].outputs ?? []).length > 0);
  console.log((out.length ? out : all).join(" "));
')
# 2. two cold airlock runs of those environments (build every image without the layer cache, run
#    every cell, seal, verify), as a repro's runs do: one before the repro and one after, so the
#    machine's drifting load hits both sides alike
cold_run() {
  local a b
  a=$(now)
  # shellcheck disable=SC2086 # one word per environment
  node bin/airlock run --spec airlock.yaml --root "$work" --no-cache $envs >/dev/null 2>&1
  b=$(now)
  secs "$a" "$b"
}
cold_a=$(cold_run)

# 3. the repro: two runs from scratch under variations, comparison, signed verdict
t4=$(now)
node bin/airlock repro --spec airlock.yaml --root "$work" --runs 2 --json >"$work/repro.jsonl" 2>/dev/null || true
t5=$(now)
cold_b=$(cold_run)
ran=$(node -e 'const r = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).at(-1); console.log((r.environments ?? []).join(" "))' "$work/repro.jsonl")
[ "$ran" = "$envs" ] || { echo "bench/repro.sh: the repro ran [$ran], the cold runs [$envs]" >&2; exit 1; }
# 4. the same with --strict: the comparison then measures every image again with mtimes (and they differ)
node bin/airlock repro --spec airlock.yaml --root "$work" --runs 2 --strict --json >"$work/strict.jsonl" 2>/dev/null || true

plain=$(secs "$t0" "$t1")
cold2=$(awk -v a="$cold_a" -v b="$cold_b" 'BEGIN { printf "%.3f", a + b }')
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

awk -v p="$plain" -v c="$cold2" -v r="$repro" -v v="$verdict" -v e="$envs" -v rm="$runs_ms" -v sm="$sleep_ms" -v cm="$compare_ms" -v se="$seal_ms" 'BEGIN {
  printf "root example, 2-run repro           %.2f s  (%s; environments %s)\n", r, v, e
  printf "plain cold docker build (both stages) %.2f s; twice %.2f s; repro / twice = %.2f\n", p, 2 * p, r / (2 * p)
  printf "two cold airlock runs (same envs)   %.2f s; repro / them = %.2f\n", c, r / c
  printf "inside repro: runs %.2f s (of which %.2f s pause between runs), comparison %.3f s, sealing %.3f s\n", rm / 1000, sm / 1000, cm / 1000, se / 1000
  printf "comparison share of repro time      %.2f %%\n", cm / 1000 / r * 100
}'
awk -v t="$s_total" -v cm="$s_compare" -v v="$s_verdict" 'BEGIN {
  printf "with --strict: repro %.2f s (%s), comparison %.2f s = %.1f %% (strict listings re-measure every image)\n", t / 1000, v, cm / 1000, cm / t * 100
}'

source bench/lib.sh
bench_row "2-run repro vs two cold airlock runs" "$repro" "$cold2" s 1.5
bench_row "2-run repro vs two plain docker builds" "$repro" "$(awk -v p="$plain" 'BEGIN { printf "%.3f", 2 * p }')" s
