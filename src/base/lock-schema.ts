import { z } from 'zod';
import { KernelLockSchema } from '../vm/kernel-lock.js';
import { BaseLockSchema } from './lock.js';

/** JSON Schema (2020-12) of `locks/base-images.lock.json` and `locks/vm-kernel.lock.json`; written to spec/locks.schema.json. */
export function locksJsonSchema(): Record<string, unknown> {
  const def = (schema: z.ZodType) => {
    const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });
    return rest;
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://airlock.dev/schemas/locks.schema.json',
    title: 'airlock base and kernel locks',
    description:
      'locks/base-images.lock.json (every base image as the Debian package files it is built from, by sha256) and ' +
      'locks/vm-kernel.lock.json (the guest kernel .deb by sha256). Written only by `airlock base update`. See docs/formats.md.',
    $defs: { bases: def(BaseLockSchema), kernel: def(KernelLockSchema) },
    anyOf: [{ $ref: '#/$defs/bases' }, { $ref: '#/$defs/kernel' }],
  };
}

export function locksJsonSchemaText(): string {
  return `${JSON.stringify(locksJsonSchema(), null, 2)}\n`;
}
