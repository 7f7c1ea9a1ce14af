#!/usr/bin/env bash
# Per-cell wall time of the same cell (the root spec's hello-c steps) under each
# isolation: runc container, gVisor (runsc), QEMU guest (TCG here). Runs
# `airlock smoke` N times (cells always run, images reused) and prints medians.
#   usage: bash bench/isolation.sh [N]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq 1 "$N"); do node bin/airlock smoke --json >>"$out" 2>/dev/null; done
node - "$out" <<'JS'
const lines = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
const cells = {};
const steps = {};
for (const e of lines) {
  if (e.type === 'cell-finished') (cells[e.cell] ??= []).push(e.durationMs);
  if (e.type === 'step-finished') ((steps[e.env] ??= {})[e.step] ??= []).push(e.durationMs);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Steps every isolation runs, so the per-step figure compares like with like.
const common = ['hello', 'report'];
const stepMs = (cell) => common.reduce((t, s) => t + median(steps[cell][s]), 0) / common.length;
const base = { cell: median(cells['smoke']), step: stepMs('smoke') };
for (const [cell, label] of [['smoke', 'runc container'], ['smoke-gvisor', 'gVisor (runsc)'], ['smoke-vm', 'QEMU guest']]) {
  const c = median(cells[cell]);
  const st = stepMs(cell);
  console.log(`${label.padEnd(16)} cell ${String(c).padStart(6)} ms (${(c / base.cell).toFixed(2)}x runc)   step ${st.toFixed(0).padStart(4)} ms (${(st / base.step).toFixed(2)}x runc)   [median of ${cells[cell].length}]`);
}
JS
