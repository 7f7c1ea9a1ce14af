#!/usr/bin/env bash
# A whole `airlock run` of a one-step cell against a plain `docker run --rm --network none`
# of the same image and command (issue 12, items 2 and 3), measured in the same run:
#   - cached: the cell is in the action cache and the build inputs are unchanged, so the run
#     neither builds nor measures (still seals, verifies and reports a bundle);
#   - cold: the cell runs (--rerun), the image already built; sealing, read-back, signing,
#     verification and reports included.
# Each round runs the three once, in turn, so a busy machine's drifting load hits them alike;
# the figures are medians over ROUNDS rounds after one warm-up round.
#   usage: bash bench/run-overhead.sh [ROUNDS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
source bench/lib.sh
bench_bundled_cli
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the context is box/ alone (the workspace's artifacts/ and proofs/ live beside it)
mkdir "$work/box"
printf 'version: 1\nname: bench-one\nimages:\n  box: { dockerfile: box/Dockerfile, context: box }\nenvironments:\n  cell:\n    image: box\n    steps:\n      - { name: t, run: ["true"] }\n' >"$work/airlock.yaml"
printf 'FROM airlock/busybox\n' >"$work/box/Dockerfile"
node bin/airlock keygen --out "$work/key" --root "$work" >/dev/null
export AIRLOCK_SIGNING_KEY="$work/key"
airlock=(node bin/airlock run -f "$work/airlock.yaml" --root "$work")
"${airlock[@]}" >/dev/null 2>&1 || {
  echo "bench/run-overhead.sh: the first run failed (is the engine up? make setup)" >&2
  exit 1
}
image=$(docker images airlock.local/bench-one/box --format '{{.Repository}}:{{.Tag}}' | head -1)

cmds=("docker run --rm --network none $image true" "${airlock[*]} --json" "${airlock[*]} --rerun --json")
for c in 0 1 2; do : >"$work/t$c"; done
for i in $(seq 0 "$ROUNDS"); do
  for c in 0 1 2; do
    t0=$(date +%s%N)
    ${cmds[$c]} >"$work/out$c.jsonl" 2>/dev/null || { echo "bench/run-overhead.sh: failed: ${cmds[$c]}" >&2; exit 1; }
    t1=$(date +%s%N)
    ((i > 0)) && echo $(((t1 - t0) / 1000)) >>"$work/t$c"
  done
done
# the figures are what they say: the cached run replayed its cell without building, the cold one ran it
node -e '
  const fs = require("fs");
  const events = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const cached = events(process.argv[1]), cold = events(process.argv[2]);
  const status = (ev) => ev.find((e) => e.type === "cell-finished")?.status;
  const problems = [];
  if (status(cached) !== "cached") problems.push(`the cached run: cell ${status(cached)}`);
  if (cached.some((e) => e.type === "build-started")) problems.push("the cached run built its image");
  if (status(cold) !== "passed") problems.push(`the cold run: cell ${status(cold)}`);
  for (const ev of [cached, cold]) if (!ev.some((e) => e.type === "verified" && e.ok)) problems.push("a bundle did not verify");
  if (problems.length) { console.error("bench/run-overhead.sh: " + problems.join("; ")); process.exit(1); }
' "$work/out1.jsonl" "$work/out2.jsonl"

median() { sort -n "$1" | awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f\n", m / 1e6 }'; }
docker_s=$(median "$work/t0")
cached_s=$(median "$work/t1")
cold_s=$(median "$work/t2")
bench_row "one-cell run, cached vs docker run" "$cached_s" "$docker_s" s 1.2
bench_row "one-step cell, cold vs docker run" "$cold_s" "$docker_s" s 1.5
