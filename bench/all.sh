#!/usr/bin/env bash
# `make bench`: every bench script, each measuring airlock against its baseline in the
# same run, then one table of all their figures: script, figure, airlock, baseline,
# ratio, target, met.
set -uo pipefail
cd "$(dirname "$0")/.."
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
export BENCH_ROWS=$rows
status=0
for script in startup run-overhead cell-overhead matrix vm-cell repro repro-attribution; do
  echo "== bench/$script.sh"
  bash "bench/$script.sh" || { echo "bench/$script.sh failed" >&2; status=1; }
  echo
done
echo "== all figures (ratio = airlock / baseline, measured in the same run)"
printf '%-22s %-44s %12s %12s %7s %8s %4s\n' script figure airlock baseline ratio target met
awk -F'\t' '{ printf "%-22s %-44s %12s %12s %7s %8s %4s\n", $1, $2, $3, $4, $5, $6, $7 }' "$rows"
exit $status
