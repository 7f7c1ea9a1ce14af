import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalJson } from '../proof/canonical-json.js';
import { generateSigningKey } from '../proof/keys.js';
import type { ManifestBlob } from '../proof/manifest.js';
import { sha256Digest } from '../util/digest.js';
import { blobPath } from './index.js';
import { HARDENED, file, flipByte, makeBundle, readEnvelope, rejectsWith, removeBundles, resign, setSubject } from './testing/bundle.js';

afterEach(removeBundles);


describe('verifyBundle', () => {
  it('accepts an untouched bundle and reports every check', async () => {
    const f = await makeBundle();
    const report = await f.verify();
    expect(report).toEqual({
      ok: true,
      runId: 'run-7',
      keyid: f.key.keyid,
      subjects: 3,
      blobs: 4,
      checks: [
        'files',
        'envelope',
        'signature',
        'statement',
        'transcript-chain',
        'transcript-subject',
        'manifest-subject',
        'manifest',
        'transcript-events',
        'blobs',
        'policy',
      ].map((name) => ({ name, ok: true })),
    });
  });

  it('finds blobs in the bundle’s own blobs/ first, then in the CAS roots', async () => {
    const f = await makeBundle();
    const { output } = f.blobs;
    await mkdir(join(blobPath(f.bundleDir, output.digest), '..'), { recursive: true });
    await writeFile(blobPath(f.bundleDir, output.digest), 'corrupt copy');
    await rejectsWith(f, 'BLOB_DIGEST_MISMATCH', { where: blobPath(f.bundleDir, output.digest) });
    await rm(blobPath(f.bundleDir, output.digest));
    await expect(f.verify()).resolves.toMatchObject({ ok: true });
  });

  describe('files and envelope', () => {
    it('BUNDLE_MISSING_FILE names the missing file', async () => {
      const f = await makeBundle();
      await rm(file(f, 'bundle.json'));
      await rejectsWith(f, 'BUNDLE_MISSING_FILE', { missing: ['bundle.json'], check: 'files' });
    });

    it('ENVELOPE_MALFORMED on an envelope without signatures', async () => {
      const f = await makeBundle();
      const envelope = await readEnvelope(f);
      await writeFile(file(f, 'envelope.dsse.json'), JSON.stringify({ ...envelope, signatures: [] }));
      await rejectsWith(f, 'ENVELOPE_MALFORMED', { where: 'envelope.dsse.json' });
    });
  });

  describe('signature', () => {
    it('SIGNATURE_INVALID when the payload is changed', async () => {
      const f = await makeBundle();
      const envelope = await readEnvelope(f);
      const payload = Buffer.from(envelope.payload, 'base64').toString().replace('run-7', 'run-8');
      envelope.payload = Buffer.from(payload).toString('base64');
      await writeFile(file(f, 'envelope.dsse.json'), JSON.stringify(envelope));
      await rejectsWith(f, 'SIGNATURE_INVALID', { what: 'signature' });
    });

    it('SIGNATURE_INVALID when one byte of the signature is changed', async () => {
      const f = await makeBundle();
      const envelope = await readEnvelope(f);
      const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
      sig[10] = sig[10]! ^ 0x01;
      envelope.signatures[0]!.sig = sig.toString('base64');
      await writeFile(file(f, 'envelope.dsse.json'), JSON.stringify(envelope));
      await rejectsWith(f, 'SIGNATURE_INVALID');
    });

    it('KEY_UNTRUSTED when another key signed it', async () => {
      const f = await makeBundle();
      await resign(f, () => {}, generateSigningKey());
      await rejectsWith(f, 'KEY_UNTRUSTED');
    });

    it('KEY_UNTRUSTED when the verifier trusts another key only', async () => {
      const f = await makeBundle();
      await expect(f.verify([generateSigningKey()])).rejects.toMatchObject({ code: 'KEY_UNTRUSTED' });
    });
  });

  describe('statement', () => {
    it('STATEMENT_TYPE when _type is changed and re-signed', async () => {
      const f = await makeBundle();
      await resign(f, (s) => {
        s._type = 'https://in-toto.io/Statement/v0.1';
      });
      await rejectsWith(f, 'STATEMENT_TYPE', { what: '_type' });
    });

    it('PREDICATE_TYPE when predicateType is changed and re-signed', async () => {
      const f = await makeBundle();
      await resign(f, (s) => {
        s.predicateType = 'https://slsa.dev/provenance/v0.2';
      });
      await rejectsWith(f, 'PREDICATE_TYPE');
    });

    it('STATEMENT_MALFORMED when the signed predicate lacks runDetails', async () => {
      const f = await makeBundle();
      await resign(f, (s) => {
        delete s.predicate.runDetails;
      });
      await rejectsWith(f, 'STATEMENT_MALFORMED');
    });

    it('STATEMENT_MALFORMED when statement.json differs from the signed payload', async () => {
      const f = await makeBundle();
      await appendFile(file(f, 'statement.json'), ' ');
      await rejectsWith(f, 'STATEMENT_MALFORMED', { where: 'statement.json' });
    });
  });

  describe('transcript', () => {
    it('TRANSCRIPT_CHAIN_BROKEN when a field inside an earlier event’s data is edited', async () => {
      const f = await makeBundle();
      const path = file(f, 'transcript.jsonl');
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replace('"exitCode":0', '"exitCode":1'));
      // the step event is seq 5; the output event after it no longer links to it
      await rejectsWith(f, 'TRANSCRIPT_CHAIN_BROKEN', { seq: 6, field: 'prev' });
    });

    it('TRANSCRIPT_MALFORMED when one byte breaks a line’s JSON', async () => {
      const f = await makeBundle();
      const path = file(f, 'transcript.jsonl');
      await flipByte(path, 0); // "{" becomes "z"
      await rejectsWith(f, 'TRANSCRIPT_MALFORMED', { line: 1 });
    });

    it('SUBJECT_MISMATCH (transcript.jsonl) when a well-chained forged event is appended', async () => {
      const f = await makeBundle();
      const path = file(f, 'transcript.jsonl');
      const lines = (await readFile(path, 'utf8')).split('\n').slice(0, -1);
      const last = JSON.parse(lines.at(-1)!);
      const forged = {
        seq: last.seq + 1,
        time: '2025-06-01T00:01:00.000Z',
        phase: 'step',
        data: { env: 'linux', argv: ['curl', 'evil'], exitCode: 0 },
        prev: sha256Digest(lines.at(-1)!),
      };
      await appendFile(path, `${canonicalJson(forged)}\n`);
      await rejectsWith(f, 'SUBJECT_MISMATCH', { what: 'transcript.jsonl' });
    });

    it('SUBJECT_MISMATCH (transcript.jsonl) when the last event is edited', async () => {
      const f = await makeBundle();
      const path = file(f, 'transcript.jsonl');
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replace('"durationMs":1000', '"durationMs":1001'));
      await rejectsWith(f, 'SUBJECT_MISMATCH', { what: 'transcript.jsonl' });
    });
  });

  describe('manifest', () => {
    it('SUBJECT_MISMATCH (bundle.json) when bundle.json is edited', async () => {
      const f = await makeBundle();
      const path = file(f, 'bundle.json');
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replace('"name":"dist/app"', '"name":"dist/app2"'));
      await rejectsWith(f, 'SUBJECT_MISMATCH', { what: 'bundle.json' });
    });

    it('MANIFEST_MISMATCH when a re-signed manifest drops a blob the transcript refers to', async () => {
      const f = await makeBundle();
      const path = file(f, 'bundle.json');
      const manifest = JSON.parse(await readFile(path, 'utf8'));
      manifest.blobs = manifest.blobs.filter((b: ManifestBlob) => b.role !== 'stdout');
      const bytes = canonicalBytes(manifest);
      await writeFile(path, bytes);
      await resign(f, (s) => setSubject(s, 'bundle.json', sha256Digest(bytes)));
      await rejectsWith(f, 'MANIFEST_MISMATCH', { what: f.blobs.stdout.digest, seq: 5 });
    });

    it('MANIFEST_MISMATCH when a re-signed manifest names another transcript digest', async () => {
      const f = await makeBundle();
      const path = file(f, 'bundle.json');
      const manifest = JSON.parse(await readFile(path, 'utf8'));
      manifest.transcript.digest = sha256Digest('another transcript');
      const bytes = canonicalBytes(manifest);
      await writeFile(path, bytes);
      await resign(f, (s) => setSubject(s, 'bundle.json', sha256Digest(bytes)));
      await rejectsWith(f, 'MANIFEST_MISMATCH', { what: 'transcript.digest' });
    });
  });

  describe('blobs', () => {
    it('BLOB_DIGEST_MISMATCH when one byte of a blob changes, naming digest, role and name', async () => {
      const f = await makeBundle();
      const { stdout } = f.blobs;
      await flipByte(blobPath(f.cas, stdout.digest), 3);
      await rejectsWith(f, 'BLOB_DIGEST_MISMATCH', { digest: stdout.digest, role: 'stdout', name: 'linux/test' });
    });

    it('BLOB_MISSING when a blob is deleted', async () => {
      const f = await makeBundle();
      const { output } = f.blobs;
      await rm(blobPath(f.cas, output.digest));
      await rejectsWith(f, 'BLOB_MISSING', { digest: output.digest, role: 'output', name: 'dist/app' });
    });
  });

  describe('policy', () => {
    it('POLICY_NOT_ENFORCED when a sealed and signed container event ran with NetworkMode "bridge"', async () => {
      const f = await makeBundle({ hostConfig: { ...HARDENED, NetworkMode: 'bridge' } });
      await rejectsWith(f, 'POLICY_NOT_ENFORCED', { env: 'linux', field: 'NetworkMode', actual: 'bridge' });
    });

    it('accepts a writable root only where the policy loosened it, in the transcript and the statement', async () => {
      const writable = { ...HARDENED, ReadonlyRootfs: false };
      await expect((await makeBundle({ hostConfig: writable, loosened: ['readOnlyRootfs'] })).verify()).resolves.toMatchObject({
        ok: true,
      });
      await rejectsWith(await makeBundle({ hostConfig: writable }), 'POLICY_NOT_ENFORCED', { field: 'ReadonlyRootfs' });
      await rejectsWith(await makeBundle({ hostConfig: writable, loosened: ['readOnlyRootfs'], specLoosened: [] }), 'POLICY_NOT_ENFORCED', {
        field: 'policy.loosened',
      });
    });

    it('POLICY_NOT_ENFORCED when environments ran but no container event was recorded', async () => {
      await rejectsWith(await makeBundle({ containers: false }), 'POLICY_NOT_ENFORCED', { field: 'container' });
    });
  });
});
