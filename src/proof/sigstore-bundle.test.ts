import { createPublicKey } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, type TrustMaterial, Verifier } from '@sigstore/verify';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyBundle } from '../verify/index.js';
import { file, makeBundle, removeBundles } from '../verify/testing/bundle.js';
import { publicKeyToPem, type PublicKey } from './keys.js';
import { envelopeFromSigstoreBundle, SIGSTORE_BUNDLE_MEDIA_TYPE } from './sigstore-bundle.js';

afterEach(removeBundles);

/** Trust material of exactly one public key: no Fulcio CA, no Rekor, no CT log, no TSA. */
function trustOnly(key: PublicKey): TrustMaterial {
  const publicKey = createPublicKey(publicKeyToPem(key));
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (hint) => {
      if (hint !== key.keyid) throw new Error(`no trusted key for hint ${hint}`);
      return { publicKey, validFor: () => true };
    },
  };
}

/** sigstore-js, told that this bundle has no transparency-log entry and no timestamp to require. */
function sigstoreVerify(json: unknown, key: PublicKey): void {
  const verifier = new Verifier(trustOnly(key), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundleFromJSON(json)));
}

describe('envelope.sigstore.json', () => {
  it('is a Sigstore v0.3 bundle that sigstore-js verifies with the signing key alone', async () => {
    const f = await makeBundle();
    const json = JSON.parse(await readFile(file(f, 'envelope.sigstore.json'), 'utf8'));
    expect(json).toMatchObject({
      mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      verificationMaterial: { publicKey: { hint: f.key.keyid }, tlogEntries: [] },
    });
    // the same signature as envelope.dsse.json, not a second one
    const dsse = JSON.parse(await readFile(file(f, 'envelope.dsse.json'), 'utf8'));
    expect(json.dsseEnvelope).toEqual(dsse);
    expect(() => sigstoreVerify(json, f.key)).not.toThrow();
  });

  it('fails sigstore-js when the payload is changed, or with another key', async () => {
    const f = await makeBundle();
    const json = JSON.parse(await readFile(file(f, 'envelope.sigstore.json'), 'utf8'));
    const payload = Buffer.from(json.dsseEnvelope.payload, 'base64').toString().replace('run-7', 'run-8');
    const tampered = { ...json, dsseEnvelope: { ...json.dsseEnvelope, payload: Buffer.from(payload).toString('base64') } };
    expect(() => sigstoreVerify(tampered, f.key)).toThrow(/signature/i);

    const other = await makeBundle();
    expect(() => sigstoreVerify(json, { ...other.key, keyid: f.key.keyid })).toThrow(/signature/i);
  });

  it('airlock verify accepts a bundle that carries only the Sigstore file, and refuses it tampered', async () => {
    const f = await makeBundle();
    await rm(file(f, 'envelope.dsse.json'));
    await expect(f.verify()).resolves.toMatchObject({ ok: true, keyid: f.key.keyid });

    const json = JSON.parse(await readFile(file(f, 'envelope.sigstore.json'), 'utf8'));
    json.dsseEnvelope.signatures[0].sig = Buffer.alloc(64).toString('base64');
    await writeFile(file(f, 'envelope.sigstore.json'), JSON.stringify(json));
    await expect(f.verify()).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('names every bad field of a malformed Sigstore bundle', () => {
    const bad = Buffer.from(JSON.stringify({ mediaType: 'application/json', dsseEnvelope: { payload: 'x' } }));
    expect(() => envelopeFromSigstoreBundle(bad, 'envelope.sigstore.json')).toThrow(
      expect.objectContaining({
        code: 'ENVELOPE_MALFORMED',
        details: expect.objectContaining({
          fields: expect.arrayContaining([
            expect.stringMatching(/^mediaType/),
            expect.stringMatching(/^verificationMaterial/),
            expect.stringMatching(/^dsseEnvelope\.payloadType/),
          ]),
        }),
      }),
    );
    expect(() => envelopeFromSigstoreBundle(Buffer.from('{'), 'x')).toThrow(expect.objectContaining({ code: 'ENVELOPE_MALFORMED' }));
  });

  it('is one of the bundle files verify can be pointed at', async () => {
    const f = await makeBundle();
    const report = await verifyBundle({ bundleDir: f.bundleDir, trustedKeys: [f.key], blobDirs: [f.cas], envelopeFile: 'envelope.sigstore.json' });
    expect(report.checks.every((c) => c.ok)).toBe(true);
  });
});
