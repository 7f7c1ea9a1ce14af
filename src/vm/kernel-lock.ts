import { z } from 'zod';
import { DigestSchema, LockedDebSchema, LockedIndexSchema } from '../base/lock.js';

/** `locks/vm-kernel.lock.json`: the guest kernel as one Debian package file, by sha256. */
export const KernelLockSchema = z.strictObject({
  lockVersion: z.literal(2),
  kernel: z.strictObject({
    suite: z.string().min(1),
    architecture: z.string().min(1),
    resolvedAt: z.iso.datetime(),
    indexes: z.array(LockedIndexSchema).min(1),
    /** the linux-image-<release> .deb, by sha256: the kernel and its modules come only from it */
    package: LockedDebSchema,
    /** `uname -r` of the guest */
    release: z.string().min(1),
    /** derived from the .deb: the kernel image and the modules the guest loads, in load order */
    vmlinuz: DigestSchema,
    modules: z.record(z.string(), DigestSchema),
  }),
});
export type KernelLock = z.infer<typeof KernelLockSchema>;
