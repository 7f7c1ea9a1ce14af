import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

import { AirlockError } from '../errors.js';
import { cpioEntryHead, cpioTrailer, cpioDataPad } from './cpio.js';
import { QEMU_BINARY } from './qemu.js';

export type Accel = 'kvm' | 'tcg';
export interface AccelChoice {
  used: Accel;
  reason: string;
}

/** How long the KVM probe may take (a working KVM boots the cloud kernel to userspace in about a second). */
export const KVM_PROBE_TIMEOUT_MS = 3000;

export interface ProbeOptions {
  /** the (locked) guest kernel to boot */
  kernel: string;
  /** the (locked) static busybox that powers the probe guest off */
  busybox: string;
}

/** One probe per preference and process: a hanging KVM costs its timeout once, not once per cell. */
const cache = new Map<string, Promise<AccelChoice>>();

/**
 * Which accelerator a guest gets. `tcg` is taken as asked. `kvm` and `auto` boot the real
 * guest kernel under KVM into a busybox that powers off at once, killed after `timeoutMs`
 * (a CPU-only probe is not enough: on some hosts KVM runs real-mode and 32-bit code but
 * hangs the kernel). `auto` then falls back to TCG, saying why; `kvm` refuses with
 * ENGINE_ERROR.
 */
export function probeAccel(pref: 'auto' | Accel, timeoutMs = KVM_PROBE_TIMEOUT_MS, options: ProbeOptions): Promise<AccelChoice> {
  if (pref === 'tcg') return Promise.resolve({ used: 'tcg', reason: 'tcg requested' });
  const key = `${timeoutMs}:${options.kernel}:${options.busybox}`;
  let probe = cache.get(key);
  if (!probe) {
    probe = rememberedPerBoot(key, () => bootProbe('kvm', timeoutMs, options));
    cache.set(key, probe);
    probe.catch(() => cache.delete(key));
  }
  return probe.then((r) => {
    if (r.used === 'kvm') return r;
    if (pref === 'kvm') throw new AirlockError('ENGINE_ERROR', `KVM was requested but is not usable: ${r.reason}`, { details: { reason: r.reason } });
    return { used: 'tcg', reason: `${r.reason}; using tcg` };
  });
}

/**
 * The probe's result, remembered until the host reboots (keyed by its boot id), so
 * each `airlock` process does not pay a hanging KVM's timeout again. A fixed KVM is
 * noticed after the next boot; the reason says the result was remembered.
 */
async function rememberedPerBoot(key: string, probe: () => Promise<AccelChoice>): Promise<AccelChoice> {
  const bootId = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  if (!bootId) return probe();
  const file = join(tmpdir(), `airlock-accel-${bootId}.json`);
  const remembered = await fs
    .readFile(file, 'utf8')
    .then((t) => (JSON.parse(t) as Record<string, AccelChoice & { at: string }>)[key])
    .catch(() => undefined);
  if (remembered) return { used: remembered.used, reason: `${remembered.reason} (probed at ${remembered.at}, this boot)` };
  const result = await probe();
  const all = await fs.readFile(file, 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => ({}));
  await fs.writeFile(`${file}.${process.pid}.tmp`, JSON.stringify({ ...all, [key]: { ...result, at: new Date().toISOString() } }));
  await fs.rename(`${file}.${process.pid}.tmp`, file);
  return result;
}

/** Forgets probe results (tests). */
export function clearAccelCache(): void {
  cache.clear();
}

/**
 * Boots the probe guest under `accel`: `{ used: accel }` when it powered off in time, else
 * `{ used: 'tcg', reason }` saying what went wrong. With panic=0 a kernel that cannot run
 * the probe hangs instead of exiting, so only a real poweroff counts.
 */
export async function bootProbe(accel: Accel, timeoutMs: number, options: ProbeOptions): Promise<AccelChoice> {
  if (accel === 'kvm') {
    try {
      await fs.access('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch (e) {
      return { used: 'tcg', reason: `/dev/kvm is not usable (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
    }
  }
  const { kernel } = options;
  const dir = await fs.mkdtemp(join(tmpdir(), 'airlock-accel-probe-'));
  try {
    const initrd = join(dir, 'probe.cpio');
    await fs.writeFile(initrd, probeInitramfs(await fs.readFile(options.busybox)));
    const started = performance.now();
    const r = await execa(QEMU_BINARY, probeArgv(kernel, initrd, accel), {
      reject: false,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      stdin: 'ignore',
      cwd: dir,
    });
    const ms = Math.round(performance.now() - started);
    if (r.timedOut) return { used: 'tcg', reason: `${accel} probe timed out after ${timeoutMs} ms` };
    if (r.exitCode !== 0) {
      return { used: 'tcg', reason: `${accel} probe failed (qemu exit ${r.exitCode ?? r.signal}: ${r.stderr.trim().split('\n').at(-1) ?? ''})` };
    }
    return { used: accel, reason: `${accel} probe booted the guest kernel in ${ms} ms` };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export function probeArgv(kernel: string, initrd: string, accel: Accel): string[] {
  return [
    '-nodefaults', '-no-user-config', '-nographic', '-monitor', 'none', '-serial', 'none', '-no-reboot', '-nic', 'none',
    '-m', '128M', '-accel', accel, '-kernel', kernel, '-initrd', initrd,
    '-append', 'panic=0 quiet rdinit=/busybox -- poweroff -f',
  ];
}

/** An uncompressed initramfs holding busybox only (the kernel runs it as `busybox poweroff -f`). */
export function probeInitramfs(busybox: Buffer): Buffer {
  const head = cpioEntryHead({ path: 'busybox', type: 'file', mode: 0o755, uid: 0, gid: 0, mtime: 0, ino: 1, nlink: 1, size: busybox.length });
  return Buffer.concat([head, busybox, cpioDataPad(busybox.length), cpioTrailer()]);
}
