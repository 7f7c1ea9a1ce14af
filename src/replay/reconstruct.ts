import { mkdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, posix, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { EXTERNAL_DOCKERFILE } from '../archive/context.js';
import { extractTarSafe } from '../archive/extract.js';
import { AirlockError } from '../errors.js';
import type { BlobReader } from '../proof/blob-reader.js';
import { loadSpec } from '../spec/load.js';
import type { LoadedSpec } from '../spec/types.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import type { RecordedInputs } from './bundle.js';

export interface Reconstruction {
  /** the workspace root the recorded relative paths were laid out under */
  root: string;
  loaded: LoadedSpec;
  /** what was put where, for the report */
  restored: { what: 'spec' | 'dockerfile' | 'context' | 'golden' | 'lock'; path: string; digest: Digest }[];
  /** what stands in for something the bundle did not record, and other caveats */
  notes: string[];
}

/** Where fetched inputs appear in every build context (the lead's `inputs:`); taken out, they go back to the CAS. */
const INPUTS_IN_CONTEXT = posix.join('.airlock', 'inputs');

/**
 * Lays out, under a fresh directory, every file the run recorded, at the same paths
 * relative to a workspace root: the spec, the Dockerfiles, the build contexts (their
 * tars extracted with extractTarSafe, which refuses unsafe entries), golden files and
 * locks. Each blob is checked against its recorded digest on the way.
 */
export async function reconstructWorkspace(inputs: RecordedInputs, blobs: BlobReader, base: string): Promise<Reconstruction> {
  const paths = [inputs.spec.path, ...inputs.dockerfiles.map((d) => d.path), ...inputs.contexts.map((c) => c.dir), ...inputs.goldens.map((g) => g.path), ...inputs.locks.map((l) => l.path)];
  // Recorded paths may climb out of the workspace root ("../x"): nest the root deep enough to keep them inside `base`.
  const depth = Math.max(0, ...paths.map(climbs));
  const root = join(base, 'ws', ...Array.from({ length: depth }, (_, i) => `d${i}`));
  const at = (p: string): string => {
    const full = resolve(root, p);
    if (isAbsolute(p) || (full !== base && !full.startsWith(`${base}${sep}`))) {
      throw new AirlockError('ARCHIVE_UNSAFE', `the bundle records the path ${JSON.stringify(p)}, which would lie outside the replay's workspace`, { details: { path: p } });
    }
    return full;
  };
  const restored: Reconstruction['restored'] = [];
  const notes: string[] = [];
  const bytes = async (ref: { digest: Digest; size: number }, what: string): Promise<Buffer> => {
    const b = await blobs.read(ref.digest);
    if (sha256Digest(b) !== ref.digest || b.length !== ref.size) {
      throw new AirlockError('BLOB_DIGEST_MISMATCH', `${what}: the blob read for ${ref.digest} does not hash to it`, { details: { digest: ref.digest } });
    }
    return b;
  };
  const write = async (path: string, content: Buffer): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { force: true });
    await writeFile(path, content);
  };

  await mkdir(root, { recursive: true });
  for (const c of inputs.contexts) {
    const dir = at(c.dir);
    await extractTarSafe(Readable.from(await bytes(c, `context ${c.dir}`)), dir);
    restored.push({ what: 'context', path: c.dir, digest: c.digest });
  }
  for (const c of inputs.contexts) await undoExternalDockerfile(at(c.dir));
  for (const d of inputs.dockerfiles) {
    await write(at(d.path), await bytes(d, `dockerfile ${d.path}`));
    restored.push({ what: 'dockerfile', path: d.path, digest: d.digest });
  }
  for (const g of inputs.goldens) {
    await write(at(g.path), await bytes(g, `golden ${g.path}`));
    restored.push({ what: 'golden', path: g.path, digest: g.digest });
  }
  for (const l of inputs.locks) {
    await write(at(l.path), await bytes(l, `lock ${l.path}`));
    restored.push({ what: 'lock', path: l.path, digest: l.digest });
  }
  const specFile = at(inputs.spec.path);
  await write(specFile, await bytes(inputs.spec, `spec ${inputs.spec.path}`));
  restored.push({ what: 'spec', path: inputs.spec.path, digest: inputs.spec.digest });

  let loaded = await loadSpec(specFile);
  // Fetched inputs travelled inside the contexts; the run places them there again from its CAS (see replay.ts).
  if (((loaded.spec as { inputs?: unknown[] }).inputs ?? []).length > 0) {
    for (const c of inputs.contexts) {
      await rm(join(at(c.dir), INPUTS_IN_CONTEXT), { recursive: true, force: true });
      await rmdir(join(at(c.dir), posix.dirname(INPUTS_IN_CONTEXT))).catch(() => undefined); // only when nothing else is in it
    }
  }
  // The run built only what its cells needed; other images of the spec still have to load.
  for (const [name, image] of Object.entries(loaded.spec.images)) {
    const dockerfile = resolve(loaded.dir, image.dockerfile);
    const context = resolve(loaded.dir, image.context);
    if (!(await exists(dockerfile))) {
      await write(dockerfile, Buffer.from(`# stand-in: image ${name} was not built by the run replayed, so its Dockerfile was not recorded\nFROM scratch${image.target ? ` AS ${image.target}` : ''}\n`));
      notes.push(`image ${name}: not built by the original run; a stand-in Dockerfile lets the spec load (it is not built)`);
    }
    if (!(await exists(context))) await mkdir(context, { recursive: true });
  }
  loaded = await loadSpec(specFile);
  if (loaded.digest !== inputs.spec.digest) throw new AirlockError('INTERNAL', `the reconstructed spec hashes to ${loaded.digest}, not ${inputs.spec.digest}`);
  return { root, loaded, restored, notes };
}

/**
 * A Dockerfile from outside its context travelled in the tar as `.airlock.Dockerfile`,
 * with that name appended to `.dockerignore`: take both back out, so building the
 * context again gives the same tar.
 */
async function undoExternalDockerfile(dir: string): Promise<void> {
  const marker = join(dir, EXTERNAL_DOCKERFILE);
  if (!(await exists(marker))) return;
  await rm(marker, { force: true });
  const ignore = join(dir, '.dockerignore');
  const text = await readFile(ignore, 'utf8').catch(() => undefined);
  const suffix = `\n${EXTERNAL_DOCKERFILE}\n`;
  if (text !== undefined && text.endsWith(suffix)) await writeFile(ignore, text.slice(0, -suffix.length));
}

/** How many directories a relative path climbs above its root before coming back down. */
function climbs(p: string): number {
  let depth = 0;
  let worst = 0;
  for (const part of normalize(p).split(/[\\/]+/)) {
    if (part === '..') worst = Math.max(worst, ++depth);
    else if (part !== '.' && part !== '') depth--;
  }
  return worst;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
