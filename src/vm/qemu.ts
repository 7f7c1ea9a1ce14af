import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

import { AirlockError } from '../errors.js';
import { rememberedFact } from './file-stamp.js';

export const QEMU_BINARY = 'qemu-system-x86_64';
/** The virtio-serial port airlock-init looks for. */
export const CHANNEL_PORT_NAME = 'dev.airlock.channel';

export interface QemuArgvInput {
  accel: 'kvm' | 'tcg';
  memoryBytes: number;
  cpus: number;
  kernel: string;
  initrd: string;
  /** ext4 guest roots: attached as virtio-blk with snapshot=on (guest writes go to a throwaway overlay) */
  disk?: string;
  /** serial console (ttyS0) file */
  consoleLog: string;
  /** unix socket the host listens on; QEMU connects to it at start */
  channelSocket: string;
  /** the guest init (inside the initramfs) */
  init: string;
}

/**
 * The full QEMU argv of a cell. Nothing is shared with the host but what is listed: no
 * NIC (`-nic none`), no default devices, no user config, no monitor; one console file,
 * one virtio-serial channel socket, and for ext4 roots one snapshot disk.
 */
export function qemuArgv(i: QemuArgvInput): string[] {
  const opt = (v: string) => v.replaceAll(',', ',,'); // QEMU option values escape commas by doubling
  const mib = Math.floor(i.memoryBytes / (1024 * 1024));
  const argv = [
    '-nodefaults', '-no-user-config', '-nographic', '-monitor', 'none', '-no-reboot', '-nic', 'none',
    '-machine', 'pc', '-accel', i.accel, ...(i.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', `${mib}M`, '-smp', String(i.cpus),
    '-kernel', i.kernel, '-initrd', i.initrd,
    '-append', `console=ttyS0 panic=-1 rdinit=${i.init} loglevel=4`,
    '-chardev', `file,id=console,path=${opt(i.consoleLog)}`, '-serial', 'chardev:console',
    '-device', 'virtio-serial-pci,id=vser',
    '-chardev', `socket,id=channel,path=${opt(i.channelSocket)}`,
    '-device', `virtserialport,bus=vser.0,chardev=channel,name=${CHANNEL_PORT_NAME}`,
  ];
  if (i.disk) argv.push('-drive', `file=${opt(i.disk)},if=virtio,format=raw,snapshot=on,cache=unsafe`);
  return argv;
}

/** Absolute path of the QEMU binary on PATH. */
export async function qemuPath(): Promise<string> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, QEMU_BINARY);
    try {
      await fs.access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  throw new AirlockError('ENGINE_ERROR', `${QEMU_BINARY} is not installed: run \`apt-get install qemu-system-x86\``);
}

const versionCache = new Map<string, Promise<string>>();

/**
 * `7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`, from `--version`: asked once per process, and
 * with `stampFile` once per binary (spawning QEMU costs ~85 ms a cell; file-stamp.ts says
 * why a stamp of the same binary's answer is the same answer).
 */
export function qemuVersion(binary: string, stampFile?: string): Promise<string> {
  let version = versionCache.get(binary);
  if (!version) {
    version = stampFile ? rememberedFact(stampFile, 'qemu-version', binary, askVersion) : askVersion(binary);
    versionCache.set(binary, version);
    version.catch(() => versionCache.delete(binary));
  }
  return version;
}

async function askVersion(binary: string): Promise<string> {
  const r = await execa(binary, ['--version']);
  const m = /version\s+(.+)$/m.exec(r.stdout.split('\n')[0] ?? '');
  return m?.[1]?.trim() ?? r.stdout.split('\n')[0] ?? 'unknown';
}
