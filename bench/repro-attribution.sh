#!/usr/bin/env bash
# What naming the cause of every difference costs: a failing `airlock repro` of
# examples/repro-corpus with attribution (the default) against the same repro with
# --no-attribute, in the same run; and, when Debian's reprotest and diffoscope are
# installed, reprotest (which varies and diffs but names no cause) on the corpus's
# busybox script run on the host, for scale. Prints each time and the ratios.
#   usage: bash bench/repro-attribution.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

node bin/airlock keygen --out "$work/key" --root "$work" >/dev/null
export AIRLOCK_SIGNING_KEY="$work/key"
cp -r examples/repro-corpus "$work/corpus"

# one JSON result → "total_s attribute_s experiments differing named"
summary() {
  node -e '
    const r = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).at(-1);
    if (r.type !== "result") { console.error(JSON.stringify(r)); process.exit(1); }
    const d = r.data ?? r;
    const paths = d.attribution?.paths ?? [];
    const named = paths.filter((p) => p.causes[0].cause !== "unknown").length;
    const differing = Object.values(d.verdicts.outputs).filter((v) => v === "not-reproducible").length;
    console.log((d.timings.totalMs / 1000).toFixed(2), (d.timings.attributeMs / 1000).toFixed(2), d.attribution?.experiments.length ?? 0, differing, named);
  ' "$1"
}

node bin/airlock repro --spec "$work/corpus/airlock.yaml" --root "$work" --no-attribute --json >"$work/plain.jsonl" 2>/dev/null || true
node bin/airlock repro --spec "$work/corpus/airlock.yaml" --root "$work" --json >"$work/attributed.jsonl" 2>/dev/null || true
read -r plain_s _ _ differing _ < <(summary "$work/plain.jsonl")
read -r attr_s attr_only experiments _ named < <(summary "$work/attributed.jsonl")

source bench/lib.sh
echo "repro-corpus: $differing differing outputs; with attribution $experiments experiment runs ($attr_only s), $named of them with a named cause"
bench_row "repro-corpus: attribution vs --no-attribute" "$attr_s" "$plain_s" s

if command -v reprotest >/dev/null && command -v diffoscope >/dev/null; then
  src="$work/reprotest-src"
  mkdir -p "$src" && cp examples/repro-corpus/shell-corpus.sh "$src/"
  t0=$(now)
  # the host has no faketime, disorderfs or spare users: vary what reprotest can here
  (cd "$src" && SOURCE_DATE_EPOCH=1700000000 CORPUS_A=1 CORPUS_B=2 CORPUS_C=3 \
    reprotest --vary=-time,-fileordering,-user_group,-domain_host,-kernel \
    'mkdir -p out && sh shell-corpus.sh out' 'out/*' >"$work/reprotest.log" 2>&1) || true
  t1=$(now)
  flagged=$(grep -cE '^│ │ │   --- ' "$work/reprotest.log" || true)
  echo "reprotest + diffoscope on the shell part, on the host: $flagged files shown differing, no cause named"
  bench_row "repro-corpus: airlock (attribution) vs reprotest" "$attr_s" "$(secs "$t0" "$t1")" s
else
  echo "reprotest and diffoscope not installed (apt-get install reprotest diffoscope-minimal): comparison skipped"
fi
