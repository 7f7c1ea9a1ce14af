#!/usr/bin/env bash
# VM cell figures (QEMU, TCG unless AIRLOCK_VM_ACCEL says otherwise):
#   1. guest root build time and size per image and kind (initramfs plain / gzip, ext4)
#   2. a VM cell running `echo hi` (runInVm end to end) vs a bare qemu-system-x86_64 boot of
#      the same kernel + guest root running the same command (rdinit=busybox sh -c ...)
#   3. bare boot of a large initramfs, plain vs gzip (what the default is based on)
#   4. Debian cells: bookworm (initramfs) and bookworm-build (ext4, > 256 MiB) running a command
# Usage: bash bench/vm-cell.sh [runs]   (default 3; prints medians)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
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
import { buildGuestRoot } from '$PWD/src/vm/guest-root.ts';
import { ensureInit } from '$PWD/src/vm/init-build.ts';
import { resolveKernel } from '$PWD/src/vm/kernel.ts';
import { runInVm } from '$PWD/src/vm/run-vm.ts';

const [mode, image, arg1, arg2, arg3] = process.argv.slice(2);
const docker = connectEngine();
const kernel = await resolveKernel('$PWD/locks');
const init = (await ensureInit({ docker, cacheDir: '$PWD/artifacts/vm' })).path;
const MiB = 1024 * 1024;
async function exportImage() {
  const c = await docker.createContainer({ Image: image, Cmd: ['true'], NetworkDisabled: true });
  const s = await c.export();
  s.once('end', () => c.remove({ force: true }).catch(() => {}));
  return s;
}
const workDir = await mkdtemp(join('$WORK', 'w-'));
if (mode === 'root') {
  // root <image> <initramfs|ext4> <gzip 0|1>
  const r = await buildGuestRoot({ rootfs: await exportImage(), helper: '/bin/busybox', init, modules: kernel.modules, workDir, kind: arg1, memoryBytes: 4096 * MiB, gzip: arg2 === '1' });
  console.log(JSON.stringify({ kind: r.kind, buildMs: r.buildMs, size: r.size, contentBytes: r.contentBytes, entries: r.entries, path: r.path, initrd: r.initrd.path }));
} else {
  // cell <image> <memMiB> <guestRoot kind> <cmd>
  const sink = () => new PassThrough().resume();
  let out = '';
  const r = await runInVm({
    rootfs: await exportImage(), helper: '/bin/busybox', init, kernel,
    steps: [{ name: 'cmd', argv: ['sh', '-c', arg3], env: {}, timeoutMs: 600000 }],
    user: '65534:65534', env: {}, outputs: [], workDir,
    vm: { memoryBytes: Number(arg1) * MiB, cpus: 2, accel: '$ACCEL', timeoutMs: 900000, guestRoot: arg2 },
    stepSinks: () => { const o = new PassThrough(); o.on('data', (d) => (out += d)); return { stdout: o, stderr: sink() }; },
    outputSink: sink,
  });
  console.log(JSON.stringify({ totalMs: r.totalMs, bootMs: r.bootMs, buildMs: r.guestRoot.buildMs, kind: r.guestRoot.kind, size: r.guestRoot.size, exit: r.steps[0]?.exitCode ?? null, stepMs: r.steps[0]?.durationMs ?? null, accel: r.accel.used, out: out.trim().split('\n')[0], guestError: r.guestError ?? null, root: r.guestRoot.initrd.path }));
}
EOF
node_ts() { node --import ./src/store/testing/register-ts.mjs "$WORK/helper.mjs" "$@"; }
field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync(0,'utf8'))['$1']))"; }

echo "# airlock VM cell bench ($(nproc) cores, accel $ACCEL, $RUNS runs each, medians)"
echo "kernel: $(ls /boot/vmlinuz-*-cloud-amd64 | tail -1); $(qemu-system-x86_64 --version | head -1)"
echo

echo "## 1. guest root build from an image (docker export -> checked, sorted, fixed mtimes)"
printf '%-32s %-16s %10s %12s %12s\n' image kind build_ms size_MiB content_MiB
for image in airlock/busybox airlock/debian:bookworm airlock/debian:bookworm-build; do
  for variant in "initramfs 0" "initramfs 1" "ext4 0"; do
    set -- $variant
    label="$1$([ "$2" = 1 ] && echo '+gzip' || true)"
    times=(); line=""
    for _ in $(seq "$RUNS"); do line="$(node_ts root "$image" "$1" "$2")"; times+=("$(field buildMs <<<"$line")"); done
    printf '%-32s %-16s %10s %12.1f %12.1f\n' "$image" "$label" "$(printf '%s\n' "${times[@]}" | median)" \
      "$(bc -l <<<"$(field size <<<"$line")/1048576")" "$(bc -l <<<"$(field contentBytes <<<"$line")/1048576")"
  done
done
echo

echo "## 2. VM cell vs bare boot, airlock/busybox initramfs, \`echo hi\`"
totals=(); boots=(); builds=(); root=""
for _ in $(seq "$RUNS"); do
  line="$(node_ts cell airlock/busybox 512 initramfs 'echo hi')"
  [ "$(field out <<<"$line")" = hi ] || { echo "cell failed: $line" >&2; exit 1; }
  totals+=("$(field totalMs <<<"$line")"); boots+=("$(field bootMs <<<"$line")"); builds+=("$(field buildMs <<<"$line")"); root="$(field root <<<"$line")"
done
cp "$root" "$WORK/busybox-root.cpio"
bare=()
for _ in $(seq "$RUNS"); do
  t0=$(now_ms)
  qemu-system-x86_64 -nodefaults -no-user-config -nographic -monitor none -no-reboot -nic none -machine pc -accel "$ACCEL" -m 512M -smp 2 \
    -kernel "$(ls /boot/vmlinuz-*-cloud-amd64 | tail -1)" -initrd "$WORK/busybox-root.cpio" \
    -append 'console=ttyS0 panic=-1 loglevel=4 rdinit=/.airlock/busybox -- sh -c "echo hi; poweroff -f"' \
    -chardev "file,id=console,path=$WORK/bare.log" -serial chardev:console
  bare+=($(( $(now_ms) - t0 )))
  grep -aq 'hi' "$WORK/bare.log" || { echo "bare boot did not print hi" >&2; exit 1; }
done
echo "VM cell total (root build + boot + step + poweroff): $(printf '%s\n' "${totals[@]}" | median) ms"
echo "  of which guest root build:                        $(printf '%s\n' "${builds[@]}" | median) ms"
echo "  qemu start -> init HELLO (boot + modules):         $(printf '%s\n' "${boots[@]}" | median) ms"
echo "bare qemu boot, same kernel + root, same command:   $(printf '%s\n' "${bare[@]}" | median) ms"
echo

echo "## 3. bare boot of a large initramfs (airlock/debian:bookworm), plain vs gzip, 1 GiB guest"
for gz in 0 1; do
  line="$(node_ts root airlock/debian:bookworm initramfs "$gz")"; initrd="$(field initrd <<<"$line")"
  t=()
  for _ in $(seq "$RUNS"); do
    t0=$(now_ms)
    qemu-system-x86_64 -nodefaults -no-user-config -nographic -monitor none -no-reboot -nic none -machine pc -accel "$ACCEL" -m 1024M -smp 2 \
      -kernel "$(ls /boot/vmlinuz-*-cloud-amd64 | tail -1)" -initrd "$initrd" \
      -append 'console=ttyS0 panic=-1 loglevel=4 rdinit=/.airlock/busybox -- sh -c "echo hi; poweroff -f"' \
      -chardev "file,id=console,path=$WORK/bare.log" -serial chardev:console
    t+=($(( $(now_ms) - t0 )))
  done
  printf '%-8s initrd %7.1f MiB  bare boot %6s ms\n' "$([ $gz = 1 ] && echo gzip || echo plain)" "$(bc -l <<<"$(field size <<<"$line")/1048576")" "$(printf '%s\n' "${t[@]}" | median)"
done
echo

echo "## 4. Debian cells (one run each)"
line="$(node_ts cell airlock/debian:bookworm 1024 auto 'cat /etc/debian_version')"
echo "bookworm ($(field kind <<<"$line"), 1 GiB): total $(field totalMs <<<"$line") ms, root build $(field buildMs <<<"$line") ms, boot $(field bootMs <<<"$line") ms, step $(field stepMs <<<"$line") ms -> $(field out <<<"$line")"
line="$(node_ts cell airlock/debian:bookworm-build 1024 auto 'gcc --version')"
echo "bookworm-build ($(field kind <<<"$line"), 1 GiB): total $(field totalMs <<<"$line") ms, root build $(field buildMs <<<"$line") ms, boot $(field bootMs <<<"$line") ms, step $(field stepMs <<<"$line") ms -> $(field out <<<"$line")"
