import { describe, expect, it } from 'vitest';

import { isAirlockError } from '../errors.js';
import { resolveModuleOrder } from './kernel.js';

const DEP = `kernel/fs/overlayfs/overlay.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
`;

describe('resolveModuleOrder', () => {
  it('puts dependencies first, each module once', () => {
    expect(resolveModuleOrder(DEP, ['virtio_pci', 'virtio_console', 'virtio_blk'])).toEqual([
      'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
      'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
      'kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio_pci.ko',
      'kernel/drivers/char/virtio_console.ko',
      'kernel/drivers/block/virtio_blk.ko',
    ]);
  });

  it('names a missing module and a loop', () => {
    let err: unknown;
    try {
      resolveModuleOrder(DEP, ['virtio_net']);
    } catch (e) {
      err = e;
    }
    expect(isAirlockError(err, 'ENGINE_ERROR') && /virtio_net/.test(err.message)).toBe(true);
    expect(() => resolveModuleOrder('a.ko: b.ko\nb.ko: a.ko\n', ['a'])).toThrow(/loop: a.ko -> b.ko -> a.ko/);
  });
});
