#!/usr/bin/env bash
# A VM cell (QEMU, TCG unless AIRLOCK_VM_ACCEL says otherwise) running `echo hi` on
# airlock/busybox, against a bare qemu-system-x86_64 boot of the same locked kernel and
# the same guest root running the same command, all in one run (issue 12, item 4):
#   cold  the guest root is built from the image (export, check, sort, write the cpio)
#   warm  the guest root is kept in the CAS under the image's rootfs digest (vm/root-cache.ts)
# Usage: bash bench/vm-cell.sh [runs]   (default 5; medians). Prints figure, airlock, baseline, ratio, target, met.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
ACCEL="${AIRLOCK_VM_ACCEL:-tcg}"
WORK="$(mktemp -d /tmp/airlock-vm-bench-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
now_ms() { date +%s%3N; }

# The TypeScript sources run through the repo's transpile-only loader (no dist/ needed).
cat > "$WORK/helper.mjs" <<EOF
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connectEngine } from '$PWD/src/engine/client.ts';
import { openImageFilesystem } from '$PWD/src/engine/image-filesystem.ts';
import { Cas } from '$PWD/src/store/cas.ts';
import { ensureInit } from '$PWD/src/vm/init-build.ts';
import { runInVm } from '$PWD/src/vm/run-vm.ts';
import { lockedHelper } from '$PWD/src/base/ensure.ts';

// cell <cold|warm> <cache dir>: one VM cell; warm keeps its guest root in <cache dir>
const [, mode, cacheDir] = process.argv.slice(1);
const docker = connectEngine();
const cas = await Cas.open('$PWD/artifacts');
const init = (await ensureInit({ engine: docker, cacheDir: '$PWD/artifacts/vm' })).path;
const helper = (await lockedHelper(cas)).path;
const image = 'airlock/busybox';
const { Id } = await docker.images.inspect(image);
let fsys;
const workDir = await mkdtemp(join('$WORK', 'w-'));
let out = '';
const sink = () => new PassThrough().resume();
const t0 = performance.now();
const r = await runInVm({
  rootfs: async () => { fsys = await openImageFilesystem(docker, image, 'bench-vm'); return fsys.tar(); },
  ...(mode === 'warm' ? { rootCache: { cas: await Cas.open(cacheDir), dir: join(cacheDir, 'vm', 'roots'), rootfsDigest: Id } } : {}),
  // as a cell runs: the locked kernel resolved and checked inside, QEMU's version asked inside
  helper, init, cas,
  steps: [{ name: 'cmd', argv: ['sh', '-c', 'echo hi'], env: {}, timeoutMs: 600000 }],
  user: '65534:65534', env: {}, outputs: [], workDir,
  vm: { memoryBytes: 512 * 1024 * 1024, cpus: 2, accel: '$ACCEL', timeoutMs: 900000, guestRoot: 'initramfs' },
  stepSinks: () => { const o = new PassThrough(); o.on('data', (d) => (out += d)); return { stdout: o, stderr: sink() }; },
  outputSink: sink,
});
await fsys?.remove();
console.log(JSON.stringify({ ms: Math.round(performance.now() - t0), cached: r.guestRoot.cached, out: out.trim(), root: r.guestRoot.initrd.path, kernel: r.kernel.path, helper }));
EOF
node_ts() { node --import ./src/store/testing/register-ts.mjs "$WORK/helper.mjs" "$@"; }
field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0,'utf8'))['$1']))"; }

cold=(); warm=(); bare=(); line=""
bare_boot() {
  local t0
  t0=$(now_ms)
  qemu-system-x86_64 -nodefaults -no-user-config -nographic -monitor none -no-reboot -nic none -machine pc -accel "$ACCEL" -m 512M -smp 2 \
    -kernel "$1" -initrd "$2" \
    -append 'console=ttyS0 panic=-1 loglevel=4 rdinit=/.airlock/busybox -- sh -c "echo hi; poweroff -f"' \
    -chardev "file,id=console,path=$WORK/bare.log" -serial chardev:console
  bare+=($(($(now_ms) - t0)))
  grep -aq 'hi' "$WORK/bare.log" || { echo "bare boot did not print hi" >&2; exit 1; }
}
# One cold cell, one warm cell and one bare boot per round, so all three share the machine's
# load as it drifts (timing every bare boot after all the cells skewed the ratio on a busy machine).
line="$(node_ts warm "$WORK/cache")" # builds and keeps the root once (and stamps the kernel's and QEMU's facts)
root="$(field root <<<"$line")"; kernel="$(field kernel <<<"$line")"
for _ in $(seq "$RUNS"); do
  line="$(node_ts cold -)"; [ "$(field out <<<"$line")" = hi ] || { echo "cold cell failed: $line" >&2; exit 1; }
  cold+=("$(field ms <<<"$line")")
  line="$(node_ts warm "$WORK/cache")"; [ "$(field cached <<<"$line")" = true ] || { echo "warm cell did not reuse its root: $line" >&2; exit 1; }
  warm+=("$(field ms <<<"$line")")
  bare_boot "$kernel" "$root"
done
c=$(printf '%s\n' "${cold[@]}" | median); w=$(printf '%s\n' "${warm[@]}" | median); b=$(printf '%s\n' "${bare[@]}" | median)
source bench/lib.sh
bench_row "VM cell, guest root built, vs bare QEMU" "$c" "$b" ms
bench_row "VM cell, guest root kept, vs bare QEMU" "$w" "$b" ms 1.3
