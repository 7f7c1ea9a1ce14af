import { dirname, join, resolve } from 'node:path';
import { AIRLOCK_LOCKS_DIR, builtinBases, specBases, type BaseRecipe } from '../../base/catalog.js';
import { ensureBases } from '../../base/ensure.js';
import { IndexCache, updateBases } from '../../base/update.js';
import { connectEngine } from '../../engine/client.js';
import { AirlockError, isAirlockError } from '../../errors.js';
import { workspacePaths } from '../../run/workspace-paths.js';
import { loadSpec } from '../../spec/load.js';
import { Cas } from '../../store/cas.js';
import { resolveKernel, updateKernelLock } from '../../vm/kernel.js';
import type { Body } from '../command.js';
import type { BASE_OPTIONS } from '../usage/base.js';

const KERNEL = 'kernel';

export const base: Body<typeof BASE_OPTIONS> = async (ctx) => {
  const [sub, ...rest] = ctx.positionals;
  if ((sub !== undefined && sub !== 'update') || rest.length > 0) {
    throw new AirlockError('USAGE', `unknown argument ${JSON.stringify(sub === 'update' ? rest[0] : sub)}; usage: airlock base [update] [--offline] [--only REF]...`);
  }
  const { locksDir, artifactsDir } = workspacePaths(ctx.root);
  const cas = await Cas.open(artifactsDir);
  const only = ctx.values.only as string[] | undefined;
  const recipes = await knownBases(ctx.specFile);
  const unknown = (only ?? []).filter((r) => r !== KERNEL && !recipes.some((b) => b.ref === r || b.ref === `${r}:latest`));
  if (unknown.length > 0) {
    throw new AirlockError('USAGE', `--only ${unknown.join(', ')}: not a base here (known: ${[...recipes.map((b) => b.ref), KERNEL].join(', ')})`);
  }
  const picked = (rs: BaseRecipe[]) => rs.filter((b) => !only || only.some((r) => b.ref === r || b.ref === `${r}:latest`));
  const withKernel = !only || only.includes(KERNEL);
  const say = (message: string) => ctx.reporter.event({ type: 'base-progress', message });
  const engine = connectEngine();

  if (sub === 'update') {
    // A project updates what it owns; airlock's own locks only in airlock's own repository.
    const owned = resolve(locksDir) === resolve(AIRLOCK_LOCKS_DIR);
    const targets = picked(recipes).filter((b) => owned || resolve(b.lockFile) !== resolve(join(AIRLOCK_LOCKS_DIR, 'base-images.lock.json')));
    const indexes = new IndexCache();
    const results = await updateBases(engine, { cas, recipes: targets, indexes, onProgress: say });
    const kernel = owned && withKernel ? await updateKernelLock(cas, await indexes.get('bookworm', 'amd64'), AIRLOCK_LOCKS_DIR) : undefined;
    for (const r of results) ctx.reporter.event({ type: 'base-updated', ...r });
    ctx.result({ updated: results, ...(kernel ? { kernel } : {}) }, [...results.flatMap((r) => r.diff), ...(kernel?.diff ?? [])]);
    return 0;
  }

  const offline = ctx.values.offline === true;
  const results = await ensureBases(engine, { cas, recipes: picked(recipes), offline, force: ctx.values.force === true, onProgress: say });
  for (const r of results) ctx.reporter.event({ type: 'base-ready', ...r });
  const kernel = withKernel ? await resolveKernel(cas, { offline }) : undefined;
  ctx.result(
    { bases: results, ...(kernel ? { kernel: { release: kernel.release, version: kernel.version, sha256: kernel.sha256, deb: kernel.deb } } : {}) },
    [
      ...results.map((r) => `${r.ref}: ${r.outcome} ${r.rootfsDigest} (${(r.durationMs / 1000).toFixed(1)}s${r.fetched?.files ? `, ${r.fetched.files} .debs fetched` : ''})`),
      ...(kernel ? [`kernel: ${kernel.release} (${kernel.package} ${kernel.version}) ${kernel.sha256}`] : []),
    ],
  );
  return 0;
};

/** The built-in bases, then the spec's own when there is a spec. */
async function knownBases(specFile: () => string): Promise<BaseRecipe[]> {
  let file: string | undefined;
  try {
    file = specFile();
  } catch (e) {
    if (!isAirlockError(e) || e.code !== 'SPEC_NOT_FOUND') throw e;
  }
  const own = file ? specBases((await loadSpec(file)).spec, dirname(file)) : [];
  return [...builtinBases(), ...own];
}
