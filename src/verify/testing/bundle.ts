/**
 * A real sealed bundle to tamper with: blobs in a CAS, a transcript with a container event,
 * sealed with a fresh key; and the edits an attacker (with or without the key) would make.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ErrorCode } from '../../errors.js';
import { canonicalBytes } from '../../proof/canonical-json.js';
import { signEnvelope } from '../../proof/dsse.js';
import { generateSigningKey, type SigningKey } from '../../proof/keys.js';
import type { ManifestBlob } from '../../proof/manifest.js';
import { sealBundle } from '../../proof/seal.js';
import { PAYLOAD_TYPE } from '../../proof/statement.js';
import type { EventInput } from '../../proof/transcript-events.js';
import { TranscriptWriter } from '../../proof/transcript.js';
import { type Digest, digestHex, sha256Digest } from '../../util/digest.js';
import { blobPath, verifyBundle } from '../index.js';
import { cellPassed, cellStarted, containerData, environmentData, HARDENED, networkData, serviceData } from './events.js';

export { HARDENED } from './events.js';

export interface Fixture {
  root: string;
  cas: string;
  bundleDir: string;
  key: SigningKey;
  blobs: Record<'context' | 'stdout' | 'output' | 'helper', ManifestBlob>;
  verify: (trusted?: SigningKey[]) => ReturnType<typeof verifyBundle>;
}

export interface FixtureOptions {
  hostConfig?: Record<string, unknown>;
  loosened?: string[];
  /** what the signed statement says the spec loosened; defaults to `loosened` */
  specLoosened?: string[];
  containers?: boolean;
  /** the cell had a service (on its internal network); these fields change its read-back HostConfig */
  service?: Record<string, unknown>;
}

const roots: string[] = [];
/** Removes every bundle made so far (call from afterEach). */
export async function removeBundles(): Promise<void> {
  await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
}

/** A real run: blobs in a CAS, a transcript with a container event, sealed with a fresh key. */
export async function makeBundle(o: FixtureOptions = {}): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'airlock-verify-'));
  roots.push(root);
  const cas = join(root, 'artifacts');
  const bundleDir = join(root, 'proofs', 'run-7');
  await mkdir(bundleDir, { recursive: true });

  const put = async (role: string, name: string, text: string): Promise<ManifestBlob> => {
    const bytes = Buffer.from(text);
    const digest = sha256Digest(bytes);
    const path = blobPath(cas, digest);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
    return { digest, size: bytes.length, role, name };
  };
  const blobs = {
    context: await put('context', 'build context', 'FROM scratch\n'),
    stdout: await put('stdout', 'linux/test', 'ok 1 - works\n'),
    output: await put('output', 'dist/app', '\x7fELF pretend binary'),
    helper: await put('helper', 'busybox', 'busybox'),
  };
  const ref = (b: ManifestBlob) => ({ digest: b.digest, size: b.size });
  const loosened = o.loosened ?? [];
  const rootfs = sha256Digest('normalized rootfs listing');

  let t = Date.UTC(2025, 5, 1);
  const w = TranscriptWriter.open(join(bundleDir, 'transcript.jsonl'), { now: () => new Date((t += 1000)) });
  const policy = { loosened, readOnlyRootfs: !loosened.includes('readOnlyRootfs') };
  w.append('environment', environmentData(ref(blobs.helper)));
  w.append('inputs', { spec: { ...ref(blobs.context), path: 'airlock.yaml' }, dockerfiles: [], contexts: [{ ...ref(blobs.context), dir: '.', entries: 1 }], goldens: [], bases: [], locks: [] });
  w.append('image', { image: 'linux', variant: 'linux@0', imageId: 'sha256:1234', rootfsDigest: rootfs, listing: ref(blobs.context) });
  w.append('cell', cellStarted('linux', 'linux') as EventInput<'cell'>);
  if (o.service) {
    w.append('network', networkData('linux', 'airlock-net'));
    w.append('service', serviceData({ hostConfig: { ...HARDENED, NetworkMode: 'airlock-net', ...o.service } }) as EventInput<'service'>);
  }
  if (o.containers !== false) w.append('container', containerData({ hostConfig: o.hostConfig ?? HARDENED, policy }) as EventInput<'container'>);
  w.append('step', {
    env: 'linux',
    index: 0,
    name: 'test',
    argv: ['make', 'test'],
    stepEnv: {},
    timeoutMs: 60_000,
    exitCode: 0,
    timedOut: false,
    durationMs: 12,
    stdout: ref(blobs.stdout),
    stderr: ref(blobs.stdout),
    expect: { exit: 0 },
    verdict: 'pass',
    failures: [],
  });
  w.append('output', { env: 'linux', path: 'dist', entries: [{ path: 'dist/app', type: 'file', mode: 0o755, size: blobs.output.size, digest: blobs.output.digest }] });
  w.append('cell', cellPassed('linux') as EventInput<'cell'>);
  w.append('teardown', { env: 'linux', containerId: 'c0ffee', removed: true });
  w.append('run', { verdict: 'passed', exitCode: 0, durationMs: 1000, cells: [{ cell: 'linux', status: 'passed' }] });
  w.close();

  const key = generateSigningKey();
  await sealBundle({
    bundleDir,
    runId: 'run-7',
    transcriptPath: join(bundleDir, 'transcript.jsonl'),
    blobs: Object.values(blobs),
    outputs: [{ name: 'dist/app', digest: blobs.output.digest }],
    facts: {
      spec: { name: 'demo', digest: sha256Digest('airlock.yaml') },
      environments: [{ name: 'linux', image: 'linux', variants: ['linux@0'], policy: { loosened: o.specLoosened ?? loosened }, verdict: 'passed' }],
      images: [{ name: 'linux@0', imageId: 'sha256:1234', rootfsDigest: rootfs }],
      builder: { id: 'https://airlock.dev/builders/local/v1', version: { airlock: '0.1.0' } },
    },
    startedOn: '2025-06-01T00:00:00Z',
    finishedOn: '2025-06-01T00:00:10Z',
    key,
    summary: ['run-7 passed'],
  });
  return {
    root,
    cas,
    bundleDir,
    key,
    blobs,
    verify: (trusted = [key]) => verifyBundle({ bundleDir, trustedKeys: trusted, blobDirs: [cas] }),
  };
}

export const file = (f: Fixture, name: string) => join(f.bundleDir, name);

export async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at] = bytes[at]! ^ 0x01;
  await writeFile(path, bytes);
}

export async function readEnvelope(f: Fixture): Promise<{ payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] }> {
  return JSON.parse(await readFile(file(f, 'envelope.dsse.json'), 'utf8'));
}

/** Edits the signed statement and signs it again, as someone holding `key` could. */
export async function resign(f: Fixture, edit: (statement: any) => void, key: SigningKey = f.key): Promise<void> {
  const envelope = await readEnvelope(f);
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  edit(statement);
  const payload = canonicalBytes(statement);
  await writeFile(file(f, 'envelope.dsse.json'), JSON.stringify(signEnvelope(PAYLOAD_TYPE, payload, key)));
  await writeFile(file(f, 'statement.json'), payload);
}

export function setSubject(statement: any, name: string, digest: Digest): void {
  statement.subject.find((s: { name: string }) => s.name === name).digest.sha256 = digestHex(digest);
}

export async function rejectsWith(f: Fixture, code: ErrorCode, details: Record<string, unknown> = {}): Promise<void> {
  await expect(f.verify()).rejects.toMatchObject({ code, details: expect.objectContaining(details) });
}
