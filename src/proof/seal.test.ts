import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '../util/digest.js';
import { canonicalJson } from './canonical-json.js';
import { EnvelopeSchema, verifyEnvelope } from './dsse.js';
import { generateSigningKey, signingKeyToPem } from './keys.js';
import { bundleJsonSchemaText, ManifestSchema } from './manifest.js';
import { sealBundle, type SealOptions } from './seal.js';
import { BUILD_TYPE, PAYLOAD_TYPE, PREDICATE_TYPE, STATEMENT_TYPE, StatementSchema } from './statement.js';
import { TranscriptWriter } from './transcript.js';

const OUT = Buffer.from('binary output');
const LOG = Buffer.from('build log\n');
const out = { digest: sha256Digest(OUT), size: OUT.length };
const log = { digest: sha256Digest(LOG), size: LOG.length };
const ROOTFS = sha256Digest('rootfs listing');

describe('sealBundle', () => {
  let bundleDir: string;
  beforeEach(async () => {
    bundleDir = join(await mkdtemp(join(tmpdir(), 'airlock-seal-')), 'proofs', 'run-1');
    await mkdir(bundleDir, { recursive: true });
  });
  afterEach(async () => {
    await rm(join(bundleDir, '..', '..'), { recursive: true, force: true });
  });

  function options(overrides: Partial<SealOptions> = {}): SealOptions {
    const w = TranscriptWriter.open(join(bundleDir, 'transcript.jsonl'));
    w.append('run', { runId: 'run-1' });
    w.append('step', { env: 'alpine', stdout: log });
    w.append('output', { name: 'dist/app', blob: out });
    w.close();
    return {
      bundleDir,
      runId: 'run-1',
      transcriptPath: join(bundleDir, 'transcript.jsonl'),
      blobs: [
        { ...out, role: 'output', name: 'dist/app' },
        { ...log, role: 'stdout', name: 'alpine/build' },
      ],
      outputs: [{ name: 'dist/app', digest: out.digest }],
      facts: {
        spec: { name: 'demo', digest: sha256Digest('airlock.yaml') },
        environments: [{ name: 'alpine', image: 'alpine-build', variants: ['alpine-build@0'], policy: { loosened: [] }, verdict: 'passed' }],
        images: [{ name: 'alpine-build@0', imageId: 'sha256:abc', rootfsDigest: ROOTFS }],
        builder: { id: 'https://airlock.dev/builders/local/v1', version: { airlock: '0.1.0' } },
      },
      startedOn: new Date(Date.UTC(2025, 0, 1)),
      finishedOn: '2025-01-01T00:01:00Z',
      key: generateSigningKey(),
      summary: ['run run-1: passed'],
      ...overrides,
    };
  }

  it('writes the manifest, statement, envelope and summary', async () => {
    const opts = options();
    const result = await sealBundle(opts);
    expect((await readdir(bundleDir)).sort()).toEqual(
      ['bundle.json', 'envelope.dsse.json', 'envelope.sigstore.json', 'statement.json', 'summary.txt', 'transcript.jsonl'].sort(),
    );

    const manifestBytes = await readFile(join(bundleDir, 'bundle.json'));
    const manifest = ManifestSchema.parse(JSON.parse(manifestBytes.toString()));
    expect(manifestBytes.toString()).toBe(canonicalJson(manifest));
    expect(manifest.transcript.digest).toBe(sha256Digest(await readFile(opts.transcriptPath)));
    expect(manifest.blobs.map((b) => b.role)).toEqual(['output', 'stdout']);

    const envelope = EnvelopeSchema.parse(JSON.parse(await readFile(join(bundleDir, 'envelope.dsse.json'), 'utf8')));
    expect(envelope.payloadType).toBe(PAYLOAD_TYPE);
    expect(verifyEnvelope(envelope, [opts.key])).toEqual({ keyid: opts.key.keyid });
    const payload = Buffer.from(envelope.payload, 'base64');
    expect(await readFile(join(bundleDir, 'statement.json'))).toEqual(payload);

    const statement = StatementSchema.parse(JSON.parse(payload.toString()));
    expect(statement._type).toBe(STATEMENT_TYPE);
    expect(statement.predicateType).toBe(PREDICATE_TYPE);
    expect(statement.subject).toEqual([
      { name: 'transcript.jsonl', digest: { sha256: manifest.transcript.digest.slice(7) } },
      { name: 'bundle.json', digest: { sha256: sha256Digest(manifestBytes).slice(7) } },
      { name: 'dist/app', digest: { sha256: out.digest.slice(7) } },
    ]);
    const { buildDefinition, runDetails } = statement.predicate;
    expect(buildDefinition.buildType).toBe(BUILD_TYPE);
    expect(buildDefinition.externalParameters).toEqual({
      spec: { name: 'demo', digest: sha256Digest('airlock.yaml') },
      environments: ['alpine'],
      policy: { alpine: { loosened: [] } },
    });
    expect(buildDefinition.internalParameters.images[0]!.rootfsDigest).toBe(ROOTFS);
    expect(runDetails.metadata).toEqual({
      invocationId: 'run-1',
      startedOn: '2025-01-01T00:00:00.000Z',
      finishedOn: '2025-01-01T00:01:00.000Z',
    });
    // the environment and the image it ran in are both tied to the rootfs digest
    expect(runDetails.byproducts[0]).toMatchObject({
      name: 'environment/alpine',
      digest: { sha256: ROOTFS.slice(7) },
      annotations: { 'dev.airlock.verdict': 'passed', 'dev.airlock.image': 'alpine-build', 'dev.airlock.images': [{ variant: 'alpine-build@0', rootfsDigest: ROOTFS }] },
    });
    expect(buildDefinition.resolvedDependencies[0]).toEqual({ name: 'image/alpine-build@0', digest: { sha256: ROOTFS.slice(7) }, annotations: { 'dev.airlock.imageId': 'sha256:abc' } });
    expect(result.keyid).toBe(opts.key.keyid);
    expect(await readFile(join(bundleDir, 'summary.txt'), 'utf8')).toBe('run run-1: passed\n');
  });

  it('keeps each summary line one line: a newline in an output name is escaped', async () => {
    await sealBundle(options({ summary: ['output    evil\nverified: forged  sha256:00', 'a\\b\tc\r\x07'] }));
    expect(await readFile(join(bundleDir, 'summary.txt'), 'utf8')).toBe('output    evil\\nverified: forged  sha256:00\na\\\\b\\tc\\r\\x07\n');
  });

  it('never writes the private key', async () => {
    const opts = options();
    await sealBundle(opts);
    const secrets = [
      Buffer.from(opts.key.seed).toString('hex'),
      Buffer.from(opts.key.seed).toString('base64').slice(0, 40),
      signingKeyToPem(opts.key).split('\n')[1]!,
    ];
    for (const name of await readdir(bundleDir)) {
      const text = await readFile(join(bundleDir, name), 'utf8');
      for (const s of secrets) expect(text).not.toContain(s);
    }
  });

  it('refuses to seal a transcript referring to a blob it does not list', async () => {
    const opts = options();
    await expect(sealBundle({ ...opts, blobs: opts.blobs.slice(0, 1) })).rejects.toMatchObject({ code: 'MANIFEST_MISMATCH' });
  });

  it('refuses an output that is not among the blobs', async () => {
    const opts = options();
    await expect(
      sealBundle({ ...opts, outputs: [{ name: 'other', digest: sha256Digest('other') }] }),
    ).rejects.toMatchObject({ code: 'MANIFEST_MISMATCH' });
  });

  it('refuses a broken chain', async () => {
    const opts = options();
    const text = await readFile(opts.transcriptPath, 'utf8');
    await writeFile(opts.transcriptPath, text.replace('"env":"alpine"', '"env":"ubuntu"'));
    await expect(sealBundle(opts)).rejects.toMatchObject({ code: 'TRANSCRIPT_CHAIN_BROKEN' });
  });
});

describe('spec/bundle.schema.json', () => {
  it('is generated from the zod schemas', async () => {
    await expect(bundleJsonSchemaText()).toMatchFileSnapshot('../../spec/bundle.schema.json');
  });
});
