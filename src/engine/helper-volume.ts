import { createHash } from 'node:crypto';
import { pack } from 'tar-stream';
import { forEachTarEntry } from '../archive/tar-read.js';
import { AirlockError } from '../errors.js';
import type { Digest } from '../util/digest.js';
import { isNotFound } from './client.js';
import type { Engine } from './engine.js';
import { HELPER_DIR, HELPER_NAME, helperVolumeName, type HelperMount } from './hardening.js';
import { LABEL_MANAGED, runLabels } from './labels.js';

/**
 * The helper on an engine that cannot see the controller's files (another machine's): a named
 * volume holding only the binary, mounted read-only at HELPER_DIR as the bind of a local engine
 * would be. The volume's content is read back and hashed on every call (once per node per run),
 * and written again when it is not the helper, so a volume a crash left half-written, or one
 * somebody changed, is never mounted into a cell. `image` is any image on the engine (the
 * cell's): the container that reads and writes the volume is created, never started.
 */
export async function ensureHelperVolume(engine: Engine, helper: { bytes: Buffer; digest: Digest }, image: string, runId: string): Promise<HelperMount> {
  const name = helperVolumeName(helper.digest);
  await engine.volumes.create({ Name: name, Labels: { [LABEL_MANAGED]: 'true' } });
  const container = await engine.containers.create({
    Image: image,
    Entrypoint: ['/nonexistent'],
    Labels: runLabels(runId, 'helper'),
    NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none', Binds: [`${name}:${HELPER_DIR}`] },
  });
  try {
    if ((await readHelper(engine, container.id)) !== helper.digest) {
      await container.writeArchive(await helperTar(helper.bytes), HELPER_DIR);
      const written = await readHelper(engine, container.id);
      if (written !== helper.digest) {
        throw new AirlockError('ENGINE_ERROR', `the helper written to volume ${name} on ${engine.name} reads back as ${written ?? 'nothing'}, not ${helper.digest}`, {
          details: { volume: name, engine: engine.name, expected: helper.digest, actual: written ?? null },
        });
      }
    }
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
  return { source: name, target: HELPER_DIR };
}

async function readHelper(engine: Engine, containerId: string): Promise<Digest | undefined> {
  let tar;
  try {
    tar = await engine.containers.get(containerId).readArchive(`${HELPER_DIR}/${HELPER_NAME}`);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  let digest: Digest | undefined;
  await forEachTarEntry(tar, async (header, body) => {
    if (header.type !== 'file' || digest !== undefined) return;
    const hash = createHash('sha256');
    for await (const c of body) hash.update(c);
    // executable by the cell's unprivileged user, writable by nobody but root
    if (((header.mode ?? 0) & 0o7777) === 0o755 && header.uid === 0) digest = `sha256:${hash.digest('hex')}`;
  });
  return digest;
}

function helperTar(bytes: Buffer): Promise<Buffer> {
  const p = pack();
  p.entry({ name: HELPER_NAME, mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) }, bytes);
  p.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => void chunks.push(c as Buffer)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
  });
}
