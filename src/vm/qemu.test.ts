import { describe, expect, it } from 'vitest';

import { probeArgv, probeInitramfs } from './accel.js';
import { parseCpio } from './cpio.js';
import { CHANNEL_PORT_NAME, qemuArgv } from './qemu.js';

const base = {
  accel: 'tcg' as const,
  memoryBytes: 512 * 1024 * 1024,
  cpus: 2,
  kernel: '/boot/vmlinuz',
  initrd: '/w/root.cpio',
  consoleLog: '/w/boot.log',
  channelSocket: '/w/a,b/channel.sock',
  init: '/.airlock/init',
};

describe('qemu argv', () => {
  it('shares nothing but the console, the channel and (ext4) a snapshot disk', () => {
    const argv = qemuArgv(base);
    const joined = argv.join(' ');
    for (const flag of ['-nodefaults', '-no-user-config', '-nographic', '-no-reboot']) expect(argv).toContain(flag);
    expect(argv.slice(argv.indexOf('-nic'), argv.indexOf('-nic') + 2)).toEqual(['-nic', 'none']);
    expect(argv.slice(argv.indexOf('-monitor'), argv.indexOf('-monitor') + 2)).toEqual(['-monitor', 'none']);
    expect(joined).not.toMatch(/-netdev|-net |-virtfs|-fsdev|-drive/);
    expect(argv).toContain('512M');
    expect(joined).toContain('rdinit=/.airlock/init');
    expect(joined).toContain('path=/w/a,,b/channel.sock'); // commas doubled
    expect(joined).toContain(`name=${CHANNEL_PORT_NAME}`);
    expect(argv).not.toContain('-cpu');

    const ext4 = qemuArgv({ ...base, accel: 'kvm', disk: '/w/root.ext4' });
    expect(ext4).toContain('file=/w/root.ext4,if=virtio,format=raw,snapshot=on,cache=unsafe');
    expect(ext4.slice(ext4.indexOf('-cpu'), ext4.indexOf('-cpu') + 2)).toEqual(['-cpu', 'host']);
  });

  it('probes with a busybox-only initramfs that powers off', () => {
    const rec = parseCpio(probeInitramfs(Buffer.from('#!fake busybox')));
    expect(rec.map((r) => [r.path, r.mode.toString(8), r.data.toString()])).toEqual([['busybox', '100755', '#!fake busybox']]);
    const argv = probeArgv('/k', '/i', 'kvm');
    expect(argv.join(' ')).toContain('panic=0 quiet rdinit=/busybox -- poweroff -f');
    expect(argv.slice(argv.indexOf('-nic'), argv.indexOf('-nic') + 2)).toEqual(['-nic', 'none']);
  });
});
