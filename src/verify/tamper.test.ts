/**
 * The bundle tamper matrix: every way we know to change a sealed bundle (with and without the
 * signing key, and by swapping files for symlinks, fifos and devices) and the one code verify
 * must answer with. Benign changes (summary.txt, other base64 alphabets) must still verify.
 */
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../errors.js';
import { canonicalBytes, canonicalJson } from '../proof/canonical-json.js';
import { signEnvelope } from '../proof/dsse.js';
import { generateSigningKey } from '../proof/keys.js';
import type { ManifestBlob } from '../proof/manifest.js';
import { PAYLOAD_TYPE } from '../proof/statement.js';
import { sha256Digest } from '../util/digest.js';
import { BUNDLE_FILE_LIMITS } from './files.js';
import { blobPath, verifyBundle } from './index.js';
import { HARDENED, type Fixture, type FixtureOptions, file, flipByte, makeBundle, readEnvelope, removeBundles, resign, setSubject } from './testing/bundle.js';

afterEach(removeBundles);

interface Case {
  name: string;
  code: ErrorCode;
  /** how the bundle is sealed (a cell that ran unhardened is sealed that way) */
  sealed?: FixtureOptions;
  tamper?: (f: Fixture) => Promise<void>;
  /** verification with other inputs than the fixture's own key and CAS */
  verify?: (f: Fixture) => Promise<unknown>;
}

const ENVELOPE = 'envelope.dsse.json';
const STATEMENT = 'statement.json';
const MANIFEST = 'bundle.json';
const TRANSCRIPT = 'transcript.jsonl';

const write = (name: string, bytes: string | Buffer) => (f: Fixture) => writeFile(file(f, name), bytes);
const replaceWith = (name: string, make: (path: string) => Promise<unknown>) => async (f: Fixture) => {
  await rm(file(f, name), { recursive: true });
  await make(file(f, name));
};
const mkfifo = async (path: string) => execFileSync('mkfifo', [path]);
const editEnvelope = (edit: (e: Record<string, any>) => void) => async (f: Fixture) => {
  const e = await readEnvelope(f);
  edit(e);
  await writeFile(file(f, ENVELOPE), JSON.stringify(e));
};
/** Signs `payload` as-is with the fixture's own key (someone holding the key). */
const signRaw = (payload: Buffer, type = PAYLOAD_TYPE) => async (f: Fixture) => {
  await writeFile(file(f, ENVELOPE), JSON.stringify(signEnvelope(type, payload, f.key)));
  await writeFile(file(f, STATEMENT), payload);
};
const transcriptLines = async (f: Fixture) => (await readFile(file(f, TRANSCRIPT), 'utf8')).split('\n').slice(0, -1);
const writeLines = (f: Fixture, lines: string[]) => writeFile(file(f, TRANSCRIPT), lines.map((l) => `${l}\n`).join(''));
/** Rewrites bundle.json and re-signs the statement so its subject matches (someone holding the key). */
const editManifest = (edit: (m: Record<string, any>) => void, raw?: Buffer) => async (f: Fixture) => {
  const m = JSON.parse(await readFile(file(f, MANIFEST), 'utf8'));
  edit(m);
  const bytes = raw ?? canonicalBytes(m);
  await writeFile(file(f, MANIFEST), bytes);
  await resign(f, (s) => setSubject(s, MANIFEST, sha256Digest(bytes)));
};
const blobOf = (f: Fixture, role: 'context' | 'stdout' | 'output') => blobPath(f.cas, f.blobs[role].digest);
const replaceBlob = (role: 'context' | 'stdout' | 'output', make: (path: string, f: Fixture) => Promise<unknown>) => async (f: Fixture) => {
  await rm(blobOf(f, role));
  await make(blobOf(f, role), f);
};

const CASES: Case[] = [
  // ---------------------------------------------------------------- files
  // envelope.sigstore.json carries the same signature, so only both gone leaves nothing to verify
  { name: 'envelope deleted', code: 'BUNDLE_MISSING_FILE', tamper: async (f) => { await rm(file(f, ENVELOPE)); await rm(file(f, 'envelope.sigstore.json')); } },
  { name: 'statement deleted', code: 'BUNDLE_MISSING_FILE', tamper: (f) => rm(file(f, STATEMENT)) },
  { name: 'transcript deleted', code: 'BUNDLE_MISSING_FILE', tamper: (f) => rm(file(f, TRANSCRIPT)) },
  { name: 'manifest deleted', code: 'BUNDLE_MISSING_FILE', tamper: (f) => rm(file(f, MANIFEST)) },
  { name: 'bundle directory deleted', code: 'BUNDLE_MISSING_FILE', tamper: (f) => rm(f.bundleDir, { recursive: true }) },
  { name: 'statement.json a symlink to /dev/zero', code: 'BUNDLE_FILE_UNSAFE', tamper: replaceWith(STATEMENT, (p) => symlink('/dev/zero', p)) },
  { name: 'envelope a symlink to /dev/zero', code: 'BUNDLE_FILE_UNSAFE', tamper: replaceWith(ENVELOPE, (p) => symlink('/dev/zero', p)) },
  { name: 'transcript a fifo', code: 'BUNDLE_FILE_UNSAFE', tamper: replaceWith(TRANSCRIPT, mkfifo) },
  { name: 'manifest a fifo', code: 'BUNDLE_FILE_UNSAFE', tamper: replaceWith(MANIFEST, mkfifo) },
  { name: 'statement.json a directory', code: 'BUNDLE_FILE_UNSAFE', tamper: replaceWith(STATEMENT, (p) => mkdir(p)) },
  {
    name: 'statement.json a symlink to an identical copy',
    code: 'BUNDLE_FILE_UNSAFE',
    tamper: async (f) => {
      const bytes = await readFile(file(f, STATEMENT));
      await writeFile(file(f, 'copy.json'), bytes);
      await replaceWith(STATEMENT, (p) => symlink('copy.json', p))(f);
    },
  },
  { name: 'transcript larger than verify reads (sparse)', code: 'BUNDLE_FILE_UNSAFE', tamper: (f) => truncate(file(f, TRANSCRIPT), BUNDLE_FILE_LIMITS.transcript + 1) },
  { name: 'envelope a symlink to /dev/null', code: 'BUNDLE_FILE_UNSAFE', tamper: replaceWith(ENVELOPE, (p) => symlink('/dev/null', p)) },

  // ---------------------------------------------------------------- envelope
  { name: 'envelope not JSON', code: 'ENVELOPE_MALFORMED', tamper: write(ENVELOPE, '{"payloadType":') },
  { name: 'envelope empty', code: 'ENVELOPE_MALFORMED', tamper: write(ENVELOPE, '') },
  { name: 'envelope a JSON array', code: 'ENVELOPE_MALFORMED', tamper: write(ENVELOPE, '[]') },
  { name: 'envelope null', code: 'ENVELOPE_MALFORMED', tamper: write(ENVELOPE, 'null') },
  { name: 'payload not base64', code: 'ENVELOPE_MALFORMED', tamper: editEnvelope((e) => (e.payload = '!!!!')) },
  { name: 'payload mixing base64 alphabets', code: 'ENVELOPE_MALFORMED', tamper: editEnvelope((e) => (e.payload = `+_${e.payload.slice(2)}`)) },
  { name: 'payload missing', code: 'ENVELOPE_MALFORMED', tamper: editEnvelope((e) => delete e.payload) },
  { name: 'payloadType empty', code: 'ENVELOPE_MALFORMED', tamper: editEnvelope((e) => (e.payloadType = '')) },
  { name: 'no signatures', code: 'ENVELOPE_MALFORMED', tamper: editEnvelope((e) => (e.signatures = [])) },
  { name: 'signature not base64', code: 'ENVELOPE_MALFORMED', tamper: editEnvelope((e) => (e.signatures[0].sig = 'a b c')) },
  { name: 'signature without keyid', code: 'ENVELOPE_MALFORMED', tamper: editEnvelope((e) => delete e.signatures[0].keyid) },

  // ---------------------------------------------------------------- signature
  {
    name: 'payload changed',
    code: 'SIGNATURE_INVALID',
    tamper: editEnvelope((e) => (e.payload = Buffer.from(Buffer.from(e.payload, 'base64').toString().replace('run-7', 'run-8')).toString('base64'))),
  },
  {
    name: 'one byte of the signature flipped',
    code: 'SIGNATURE_INVALID',
    tamper: editEnvelope((e) => {
      const sig = Buffer.from(e.signatures[0].sig, 'base64');
      sig[0] = sig[0]! ^ 0x80;
      e.signatures[0].sig = sig.toString('base64');
    }),
  },
  { name: 'payloadType changed (PAE covers it)', code: 'SIGNATURE_INVALID', tamper: editEnvelope((e) => (e.payloadType = 'application/json')) },
  { name: 'signature truncated', code: 'SIGNATURE_INVALID', tamper: editEnvelope((e) => (e.signatures[0].sig = e.signatures[0].sig.slice(0, 64))) },
  { name: 'keyid of an unknown key', code: 'KEY_UNTRUSTED', tamper: editEnvelope((e) => (e.signatures[0].keyid = 'f'.repeat(64))) },
  { name: 're-signed by another key', code: 'KEY_UNTRUSTED', tamper: (f) => resign(f, () => {}, generateSigningKey()) },
  {
    name: 'empty keyid and a signature by another key',
    code: 'KEY_UNTRUSTED',
    tamper: async (f) => {
      await resign(f, () => {}, generateSigningKey());
      await editEnvelope((e) => (e.signatures[0].keyid = ''))(f);
    },
  },
  { name: 'verified with no trusted keys', code: 'KEY_UNTRUSTED', verify: (f) => f.verify([]) },
  { name: 'verified with another key only', code: 'KEY_UNTRUSTED', verify: (f) => f.verify([generateSigningKey()]) },

  // ---------------------------------------------------------------- statement
  { name: 'signed payload not JSON', code: 'STATEMENT_MALFORMED', tamper: signRaw(Buffer.from('{"_type":')) },
  { name: 'signed payload not UTF-8', code: 'STATEMENT_MALFORMED', tamper: signRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])) },
  { name: 'signed with another payloadType', code: 'STATEMENT_TYPE', tamper: async (f) => signRaw(await readFile(file(f, STATEMENT)), 'application/json')(f) },
  { name: '_type changed and re-signed', code: 'STATEMENT_TYPE', tamper: (f) => resign(f, (s) => (s._type = 'https://in-toto.io/Statement/v0.1')) },
  { name: 'predicateType changed and re-signed', code: 'PREDICATE_TYPE', tamper: (f) => resign(f, (s) => (s.predicateType = 'https://slsa.dev/provenance/v0.2')) },
  { name: 'no subjects', code: 'STATEMENT_MALFORMED', tamper: (f) => resign(f, (s) => (s.subject = [])) },
  { name: 'two subjects of one name', code: 'STATEMENT_MALFORMED', tamper: (f) => resign(f, (s) => s.subject.push({ ...s.subject[0] })) },
  { name: 'predicate without runDetails', code: 'STATEMENT_MALFORMED', tamper: (f) => resign(f, (s) => delete s.predicate.runDetails) },
  { name: 'predicate without the policy', code: 'STATEMENT_MALFORMED', tamper: (f) => resign(f, (s) => delete s.predicate.buildDefinition.externalParameters.policy) },
  { name: 'statement.json with a trailing space', code: 'STATEMENT_MALFORMED', tamper: (f) => appendFile(file(f, STATEMENT), ' ') },
  {
    name: 'statement.json re-serialized (same JSON, other bytes)',
    code: 'STATEMENT_MALFORMED',
    tamper: async (f) => writeFile(file(f, STATEMENT), JSON.stringify(JSON.parse(await readFile(file(f, STATEMENT), 'utf8')), null, 2)),
  },

  // ---------------------------------------------------------------- transcript
  { name: 'transcript: first byte flipped', code: 'TRANSCRIPT_MALFORMED', tamper: (f) => flipByte(file(f, TRANSCRIPT), 0) },
  { name: 'transcript emptied', code: 'TRANSCRIPT_MALFORMED', tamper: write(TRANSCRIPT, '') },
  { name: 'transcript not UTF-8', code: 'TRANSCRIPT_MALFORMED', tamper: (f) => appendFile(file(f, TRANSCRIPT), Buffer.from([0xff, 0xfe, 0x0a])) },
  {
    name: 'transcript: an earlier event edited',
    code: 'TRANSCRIPT_CHAIN_BROKEN',
    tamper: async (f) => writeFile(file(f, TRANSCRIPT), (await readFile(file(f, TRANSCRIPT), 'utf8')).replace('"exitCode":0', '"exitCode":1')),
  },
  {
    name: 'transcript: a middle line deleted',
    code: 'TRANSCRIPT_CHAIN_BROKEN',
    tamper: async (f) => writeLines(f, (await transcriptLines(f)).filter((_, i) => i !== 3)),
  },
  {
    name: 'transcript: two lines swapped',
    code: 'TRANSCRIPT_CHAIN_BROKEN',
    tamper: async (f) => {
      const lines = await transcriptLines(f);
      [lines[2], lines[3]] = [lines[3]!, lines[2]!];
      await writeLines(f, lines);
    },
  },
  {
    name: 'transcript: a well-chained forged event appended',
    code: 'SUBJECT_MISMATCH',
    tamper: async (f) => {
      const lines = await transcriptLines(f);
      const last = JSON.parse(lines.at(-1)!);
      const forged = { seq: last.seq + 1, time: '2025-06-01T00:01:00.000Z', phase: 'step', data: { env: 'linux', argv: ['curl', 'evil'], exitCode: 0 }, prev: sha256Digest(lines.at(-1)!) };
      await writeLines(f, [...lines, canonicalJson(forged)]);
    },
  },
  { name: 'transcript: last line dropped', code: 'SUBJECT_MISMATCH', tamper: async (f) => writeLines(f, (await transcriptLines(f)).slice(0, -1)) },
  {
    name: 'transcript: last event edited',
    code: 'SUBJECT_MISMATCH',
    tamper: async (f) => writeFile(file(f, TRANSCRIPT), (await readFile(file(f, TRANSCRIPT), 'utf8')).replace('"durationMs":1000', '"durationMs":1001')),
  },
  { name: 'statement re-signed with another transcript digest', code: 'SUBJECT_MISMATCH', tamper: (f) => resign(f, (s) => setSubject(s, TRANSCRIPT, sha256Digest('other'))) },

  // ---------------------------------------------------------------- manifest
  {
    name: 'bundle.json edited',
    code: 'SUBJECT_MISMATCH',
    tamper: async (f) => writeFile(file(f, MANIFEST), (await readFile(file(f, MANIFEST), 'utf8')).replace('"name":"dist/app"', '"name":"dist/app2"')),
  },
  { name: 'statement re-signed without the bundle.json subject', code: 'SUBJECT_MISMATCH', tamper: (f) => resign(f, (s) => (s.subject = s.subject.filter((x: { name: string }) => x.name !== MANIFEST))) },
  { name: 're-signed manifest drops a blob the transcript refers to', code: 'MANIFEST_MISMATCH', tamper: editManifest((m) => (m.blobs = m.blobs.filter((b: ManifestBlob) => b.role !== 'stdout'))) },
  { name: 're-signed manifest drops the output blob', code: 'MANIFEST_MISMATCH', tamper: editManifest((m) => (m.blobs = m.blobs.filter((b: ManifestBlob) => b.role !== 'output'))) },
  { name: 're-signed manifest of another run', code: 'MANIFEST_MISMATCH', tamper: editManifest((m) => (m.runId = 'run-8')) },
  { name: 're-signed manifest with another transcript digest', code: 'MANIFEST_MISMATCH', tamper: editManifest((m) => (m.transcript.digest = sha256Digest('x'))) },
  { name: 're-signed manifest with another chain head', code: 'MANIFEST_MISMATCH', tamper: editManifest((m) => (m.transcript.head = sha256Digest('x'))) },
  { name: 're-signed manifest giving a blob another size', code: 'MANIFEST_MISMATCH', tamper: editManifest((m) => (m.blobs.find((b: ManifestBlob) => b.role === 'stdout').size += 1)) },
  { name: 're-signed manifest not JSON', code: 'MANIFEST_MISMATCH', tamper: editManifest(() => {}, Buffer.from('{"bundleVersion":')) },
  { name: 're-signed manifest of another version', code: 'MANIFEST_MISMATCH', tamper: editManifest((m) => (m.bundleVersion = 2)) },

  // ---------------------------------------------------------------- blobs
  { name: 'one byte of a blob flipped', code: 'BLOB_DIGEST_MISMATCH', tamper: (f) => flipByte(blobOf(f, 'stdout'), 3) },
  { name: 'a blob truncated', code: 'BLOB_DIGEST_MISMATCH', tamper: async (f) => truncate(blobOf(f, 'stdout'), 2) },
  { name: 'a blob extended', code: 'BLOB_DIGEST_MISMATCH', tamper: (f) => appendFile(blobOf(f, 'output'), 'more') },
  { name: 'an output replaced by other bytes of its size', code: 'BLOB_DIGEST_MISMATCH', tamper: async (f) => writeFile(blobOf(f, 'output'), 'x'.repeat(f.blobs.output.size)) },
  { name: 'a blob deleted', code: 'BLOB_MISSING', tamper: (f) => rm(blobOf(f, 'context')) },
  { name: 'verified without any blob dir', code: 'BLOB_MISSING', verify: (f) => verifyBundle({ bundleDir: f.bundleDir, trustedKeys: [f.key], blobDirs: [] }) },
  { name: 'a blob a symlink to /dev/zero', code: 'BLOB_UNSAFE', tamper: replaceBlob('stdout', (p) => symlink('/dev/zero', p)) },
  { name: 'a blob a fifo', code: 'BLOB_UNSAFE', tamper: replaceBlob('output', mkfifo) },
  { name: 'a blob a directory', code: 'BLOB_UNSAFE', tamper: replaceBlob('context', (p) => mkdir(p)) },
  {
    name: 'a blob a symlink to a good copy outside the CAS',
    code: 'BLOB_UNSAFE',
    tamper: replaceBlob('output', async (p, f) => {
      await writeFile(join(f.root, 'copy'), '\x7fELF pretend binary');
      await symlink(join(f.root, 'copy'), p);
    }),
  },

  // ---------------------------------------------------------------- policy
  { name: 'cell ran with NetworkMode bridge', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, NetworkMode: 'bridge' } } },
  { name: 'cell ran privileged', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, Privileged: true } } },
  { name: 'cell ran with CAP_SYS_ADMIN', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, CapAdd: ['SYS_ADMIN'] } } },
  { name: 'cell ran without no-new-privileges', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, SecurityOpt: [] } } },
  { name: 'cell ran with a writable root, not loosened', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, ReadonlyRootfs: false } } },
  { name: 'cell ran with no CPU limit (NanoCpus 0)', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, NanoCpus: 0 } } },
  { name: 'cell ran with no memory limit', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, Memory: 0 } } },
  { name: 'cell ran with no pids limit (-1)', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, PidsLimit: -1 } } },
  { name: 'cell ran with a tmpfs that allows exec', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=268435456,mode=1777' } } } },
  { name: 'cell ran with more memory than its policy', code: 'POLICY_NOT_ENFORCED', sealed: { hostConfig: { ...HARDENED, Memory: 4294967296 } } },
  { name: 'service ran on the bridge network', code: 'POLICY_NOT_ENFORCED', sealed: { service: { NetworkMode: 'bridge' } } },
  { name: 'service ran with NET_ADMIN', code: 'POLICY_NOT_ENFORCED', sealed: { service: { CapAdd: ['NET_ADMIN'] } } },
  { name: 'service ran with no memory limit', code: 'POLICY_NOT_ENFORCED', sealed: { service: { Memory: 0 } } },
  { name: 'service published a port', code: 'POLICY_NOT_ENFORCED', sealed: { service: { PortBindings: { '5432/tcp': [{ HostPort: '5432' }] } } } },
  {
    name: 'transcript loosens what the signed policy does not',
    code: 'POLICY_NOT_ENFORCED',
    sealed: { hostConfig: { ...HARDENED, ReadonlyRootfs: false }, loosened: ['readOnlyRootfs'], specLoosened: [] },
  },
  { name: 'no container event for the environments', code: 'POLICY_NOT_ENFORCED', sealed: { containers: false } },
  { name: 'signed policy emptied and re-signed', code: 'POLICY_MISSING', tamper: (f) => resign(f, (s) => (s.predicate.buildDefinition.externalParameters.policy = {})) },
];

/** Changes that do not touch what is signed or re-hashed: the bundle must still verify. */
const BENIGN: { name: string; tamper: (f: Fixture) => Promise<void> }[] = [
  { name: 'untouched', tamper: async () => {} },
  { name: 'summary.txt edited', tamper: (f) => appendFile(file(f, 'summary.txt'), 'a note\n') },
  { name: 'summary.txt deleted', tamper: (f) => rm(file(f, 'summary.txt')) },
  { name: 'an unknown envelope field added', tamper: editEnvelope((e) => (e.annotations = { by: 'another tool' })) },
  {
    name: 'payload and signature in URL-safe base64',
    tamper: editEnvelope((e) => {
      e.payload = Buffer.from(e.payload, 'base64').toString('base64url');
      e.signatures[0].sig = Buffer.from(e.signatures[0].sig, 'base64').toString('base64url');
    }),
  },
];

describe('bundle tamper matrix', () => {
  it('has at least 60 cases, each expecting its code', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES)('$name → $code', async (c) => {
    const f = await makeBundle(c.sealed);
    await c.tamper?.(f);
    const verifying = c.verify ? c.verify(f) : f.verify();
    await expect(verifying).rejects.toMatchObject({ code: c.code, exitCode: 7 });
  });

  it('still verifies: a cell with a hardened service on its internal network (the control for the service cases)', async () => {
    await expect((await makeBundle({ service: {} })).verify()).resolves.toMatchObject({ ok: true });
  });

  it.each(BENIGN)('still verifies: $name', async (c) => {
    const f = await makeBundle();
    await c.tamper(f);
    await expect(f.verify()).resolves.toMatchObject({ ok: true });
  });
});
