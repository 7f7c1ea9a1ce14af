import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AirlockError } from '../errors.js';
import { BUNDLE_FILES, ManifestSchema } from '../proof/manifest.js';
import { REPORT_FILES_DIR } from '../report/html-parts.js';
import { Cas } from '../store/cas.js';
import { blobPath } from '../store/layout.js';
import { blobRoots } from '../verify/blobs.js';
import { readBundleFiles } from '../verify/files.js';

export interface ExportResult {
  outDir: string;
  /** bundle files copied (names) */
  files: string[];
  /** distinct blobs copied into blobs/sha256/ */
  blobs: number;
  bytes: number;
}

/**
 * Writes a self-contained copy of a bundle: its files and `blobs/sha256/<hex>` of every
 * blob its manifest lists, each re-hashed on the way (a copy never carries a corrupt
 * blob). The copy is assembled beside `outDir` and renamed into place, so `outDir`
 * either does not exist or is complete; an existing non-empty `outDir` is refused.
 * The report's `report-files/` comes along as links to the copied blobs, so its links work
 * in the copy.
 */
export async function exportBundle(opts: { bundleDir: string; outDir: string; blobDirs: readonly string[] }): Promise<ExportResult> {
  const src = resolve(opts.bundleDir);
  const outDir = resolve(opts.outDir);
  const existing = await readdir(outDir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
  if (existing !== undefined && existing.length > 0) throw new AirlockError('USAGE', `${opts.outDir} exists and is not empty: export writes a new directory`);
  // read as verify reads it: a regular file, bounded
  const manifest = ManifestSchema.parse(JSON.parse((await readBundleFiles(src)).manifest.toString('utf8')));
  const roots = await blobRoots(src, opts.blobDirs.map((d) => resolve(d)));

  const partial = join(dirname(outDir), `.${basename(outDir)}.${process.pid}.partial`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    const files: string[] = [];
    for (const entry of await readdir(src, { withFileTypes: true })) {
      // top-level files: the bundle's own and the reports written beside them; blobs/ is rebuilt below
      if (!entry.isFile()) continue;
      await copyFile(join(src, entry.name), join(partial, entry.name));
      files.push(entry.name);
    }
    for (const name of Object.values(BUNDLE_FILES)) {
      if (!files.includes(name) && name !== BUNDLE_FILES.summary && name !== BUNDLE_FILES.sigstore) throw new AirlockError('BUNDLE_MISSING_FILE', `${src} has no ${name}`, { details: { what: name, where: src } });
    }
    const cas = new Cas(partial);
    let bytes = 0;
    const seen = new Set<string>();
    for (const blob of manifest.blobs) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      const from = await firstExisting(roots.map((r) => blobPath(r, blob.digest)));
      if (from === undefined) {
        throw new AirlockError('BLOB_MISSING', `blob ${blob.digest} (role ${blob.role}, name ${blob.name}) is in none of: ${roots.join(', ')}`, {
          details: { digest: blob.digest, role: blob.role, name: blob.name },
        });
      }
      // CAS_CORRUPT when the source copy is not what its name says
      const ref = await cas.put(createReadStream(from), { expectedDigest: blob.digest });
      bytes += ref.size;
    }
    await rm(cas.tmpDir, { recursive: true, force: true });
    await carryReportFiles(src, partial, seen);
    if (existing !== undefined) await rmdir(outDir);
    await mkdir(dirname(outDir), { recursive: true });
    await rename(partial, outDir);
    return { outDir, files: files.sort(), blobs: seen.size, bytes };
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    throw e;
  }
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) {
    if (await stat(p).then((s) => s.isFile(), () => false)) return p;
  }
  return undefined;
}

/**
 * `report-files/sha256/<hex>` of the source, rebuilt in the copy from the blobs just copied
 * and re-hashed (a hard link, else a copy): the page's links keep working. A name that is
 * not a blob of the manifest is left out, never copied unchecked.
 */
async function carryReportFiles(src: string, partial: string, copied: ReadonlySet<string>): Promise<void> {
  const names = await readdir(join(src, REPORT_FILES_DIR, 'sha256')).catch(() => [] as string[]);
  const wanted = names.filter((n) => /^[0-9a-f]{64}$/.test(n) && copied.has(`sha256:${n}`));
  if (wanted.length === 0) return;
  const dir = join(partial, REPORT_FILES_DIR, 'sha256');
  await mkdir(dir, { recursive: true });
  for (const hex of wanted) {
    const from = blobPath(partial, `sha256:${hex}`);
    await link(from, join(dir, hex)).catch(() => copyFile(from, join(dir, hex)));
  }
}
