import { readFile } from 'node:fs/promises';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { readBaseLock } from './lock.js';
import { baseSbom, debPurl } from './sbom.js';

// testing/spdx-2.3.schema.json is the SPDX 2.3 JSON Schema as published by the SPDX project
// (spdx/spdx-spec, tag v2.3, schemas/spdx-schema.json; the specification's own licence applies).
const SCHEMA = JSON.parse(await readFile(new URL('./testing/spdx-2.3.schema.json', import.meta.url), 'utf8'));
const LOCK = new URL('../../locks/base-images.lock.json', import.meta.url);

describe('baseSbom', () => {
  it('is a valid SPDX 2.3 document for every committed base, listing each locked .deb with version, purl and sha256', async () => {
    const validate = new Ajv.default({ allErrors: true, strict: false }).compile(SCHEMA);
    const lock = await readBaseLock(LOCK.pathname);
    expect(Object.keys(lock.bases).length).toBeGreaterThan(0);
    for (const [ref, entry] of Object.entries(lock.bases)) {
      const doc = baseSbom(ref, entry) as { packages: { name: string; versionInfo?: string; checksums: { checksumValue: string }[]; externalRefs?: { referenceLocator: string }[] }[] };
      expect(validate(doc), `${ref}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(doc.packages).toHaveLength(entry.packages.length + 1);
      for (const p of entry.packages) {
        const listed = doc.packages.find((x) => x.name === p.name)!;
        expect(listed.versionInfo).toBe(p.version);
        expect(listed.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: p.sha256 }]);
        expect(listed.externalRefs![0]!.referenceLocator).toBe(debPurl(p.name, p.version, p.architecture, entry.suite));
      }
    }
  });

  it('is the same bytes for the same lock (derived from the lock alone)', async () => {
    const lock = await readBaseLock(LOCK.pathname);
    const [ref, entry] = Object.entries(lock.bases)[0]!;
    expect(JSON.stringify(baseSbom(ref, entry))).toBe(JSON.stringify(baseSbom(ref, structuredClone(entry))));
  });

  it('writes purls as purl-spec says: epoch colon and plus percent-encoded', () => {
    expect(debPurl('libc6', '2.36-9+deb12u13', 'amd64', 'bookworm')).toBe('pkg:deb/debian/libc6@2.36-9%2Bdeb12u13?arch=amd64&distro=debian-bookworm');
    expect(debPurl('bsdutils', '1:2.38.1-5+deb12u3', 'amd64', 'bookworm')).toBe('pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-bookworm');
  });

  it('the schema really checks: a package without its download location is refused', async () => {
    const validate = new Ajv.default({ allErrors: true, strict: false }).compile(SCHEMA);
    const lock = await readBaseLock(LOCK.pathname);
    const [ref, entry] = Object.entries(lock.bases)[0]!;
    const doc = baseSbom(ref, entry) as { packages: Record<string, unknown>[] };
    delete doc.packages[1]!.downloadLocation;
    expect(validate(doc)).toBe(false);
  });
});
