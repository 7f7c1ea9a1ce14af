import { readFile, stat } from 'node:fs/promises';
import { relative } from 'node:path';
import { AirlockError } from '../errors.js';
import { canonicalJson } from '../proof/canonical-json.js';
import { confine } from '../spec/confine.js';
import type { EnvironmentSpec, ImageSpec, LoadedSpec, MatrixSettings } from '../spec/types.js';
import { sha256Digest, sha256Hex, type Digest } from '../util/digest.js';
import { interpolateDeep } from './interpolate.js';
import { cellId, expandMatrix, matchCells, type Cell } from './matrix.js';
import { parseDockerfileStages, stageClosure, targetStage } from './dockerfile.js';

export interface PlannedImage {
  name: string;
  spec: ImageSpec;
  dockerfilePath: string;
  dockerfileDigest: Digest;
  contextDir: string;
  /** external images its stages build FROM (base images) */
  bases: string[];
  /** other spec images (variant keys, in a variant) built first: their target is a stage this one needs */
  after: string[];
  /** the local tag it is built under */
  tag: string;
}

/** One image to build: a spec image with the build args of the cells that need it. */
export interface ImageVariant extends PlannedImage {
  /** `<image>@<hash of args>`: cells with equal build inputs share one variant */
  key: string;
  args: Record<string, string>;
}

/** One sealed run of an environment: the environment itself, or one matrix combination of it. */
export interface PlannedCell {
  /** the environment name, or `<env>[<axis>=<value>,…]` */
  id: string;
  env: string;
  matrix?: Cell;
  /** the environment with `${{ matrix.* }}` replaced */
  spec: EnvironmentSpec;
  /** build args by image name, interpolated for this cell */
  imageArgs: Record<string, Record<string, string>>;
  /** the key of the image variant the cell runs in (set by the planner) */
  image?: string;
  /** service name → image variant key, for services built from the spec's images */
  serviceImages?: Record<string, string>;
}

export interface Plan {
  /** in dependency order */
  variants: ImageVariant[];
  cells: PlannedCell[];
  matrix?: MatrixSettings;
}

export interface PlanOptions {
  /** environments to run (default: all) */
  environments?: string[];
  /** only the matrix cells matching this selection (`airlock matrix --cell`) */
  cells?: Record<string, string>;
}

const specError = (loaded: LoadedSpec, path: string, message: string) =>
  new AirlockError('SPEC_INVALID', `${relative(process.cwd(), loaded.file) || loaded.file}: ${path}: ${message}`, {
    details: { file: loaded.file, issues: [{ path, message }] },
  });

function confined(loaded: LoadedSpec, key: string, written: string): string {
  const where = confine(loaded.dir, written);
  if (!where.ok) throw specError(loaded, key, where.problem);
  return where.at.path;
}

/**
 * Resolves a spec into what will be built and run: reads each Dockerfile to find
 * its stages, checks every target exists, and orders images so one whose target
 * is a stage another needs is built first.
 */
export async function planRun(loaded: LoadedSpec, options: PlanOptions = {}): Promise<Plan> {
  const only = options.environments ?? [];
  const { spec } = loaded;
  const unknown = only.filter((e) => !(e in spec.environments));
  if (unknown.length > 0) {
    throw new AirlockError('USAGE', `no environment ${unknown.map((u) => `"${u}"`).join(', ')} in ${loaded.file} (defined: ${Object.keys(spec.environments).join(', ')})`);
  }
  const envNames = only.length > 0 ? only : Object.keys(spec.environments);

  const planned = new Map<string, PlannedImage>();
  const targets = new Map<string, { target: number; stages: Set<number> }>();
  for (const [name, image] of Object.entries(spec.images)) {
    // Checked when the spec was loaded, and again now that the files are about to be read.
    const dockerfilePath = confined(loaded, `images.${name}.dockerfile`, image.dockerfile);
    const contextDir = confined(loaded, `images.${name}.context`, image.context);
    let text: string;
    try {
      text = await readFile(dockerfilePath, 'utf8');
    } catch {
      throw specError(loaded, `images.${name}.dockerfile`, `cannot read ${dockerfilePath}`);
    }
    if (!(await stat(contextDir).catch(() => undefined))?.isDirectory()) {
      throw specError(loaded, `images.${name}.context`, `${contextDir} is not a directory`);
    }
    const df = parseDockerfileStages(text);
    const target = targetStage(df, image.target);
    if (target === undefined && df.stages.length === 0) {
      throw specError(loaded, `images.${name}.dockerfile`, `${image.dockerfile} has no FROM instruction; is it a Dockerfile?`);
    }
    if (target === undefined) {
      const names = df.stages.map((s) => s.name).filter(Boolean);
      throw specError(loaded, `images.${name}.target`, `stage "${image.target}" not found in ${image.dockerfile} (stages: ${names.join(', ') || 'none named'})`);
    }
    const stages = stageClosure(df, target);
    planned.set(name, {
      name,
      spec: image,
      dockerfilePath,
      dockerfileDigest: sha256Digest(text),
      contextDir,
      bases: df.externalImages.filter((ref) => [...stages].some((i) => df.stages[i]?.from === ref)),
      after: [],
      tag: `${spec.name}/${name}`,
    });
    targets.set(name, { target, stages });
  }

  // B comes before A when both use one Dockerfile and B's target is among A's stages.
  for (const a of planned.values()) {
    for (const b of planned.values()) {
      if (a === b || a.dockerfilePath !== b.dockerfilePath) continue;
      const ta = targets.get(a.name)!;
      const tb = targets.get(b.name)!;
      if (ta.target !== tb.target && ta.stages.has(tb.target)) a.after.push(b.name);
    }
  }

  const cells = planCells(loaded, envNames, options.cells);
  return { variants: imageVariants(planned, cells), cells, ...(spec.matrix && { matrix: spec.matrix }) };
}

/** The cells to run: one per plain environment, one per matrix combination of the matrix environment. */
function planCells(loaded: LoadedSpec, envNames: string[], selector: Record<string, string> | undefined): PlannedCell[] {
  const { spec } = loaded;
  const cells: PlannedCell[] = [];
  for (const env of envNames) {
    const base = spec.environments[env]!;
    if (spec.matrix?.environment !== env) {
      if (!selector) cells.push({ id: env, env, spec: base, imageArgs: {} });
      continue;
    }
    let combos = expandMatrix(spec.matrix);
    if (selector) combos = matchCells(combos, selector);
    const axes = Object.keys(spec.matrix.axes);
    for (const combo of combos) {
      // A cell is known by its axis values; keys an include adds to it are settings, not identity,
      // so changing one re-runs the same cell (and explain can say what changed).
      const identity = axes.every((a) => a in combo) ? Object.fromEntries(axes.map((a) => [a, combo[a]])) : combo;
      const id = `${env}[${cellId(identity)}]`;
      cells.push({
        id,
        env,
        matrix: combo,
        spec: { ...base, env: interpolateDeep(base.env, combo, `environments.${env}.env`), steps: interpolateDeep(base.steps, combo, `environments.${env}.steps`), services: interpolateDeep(base.services, combo, `environments.${env}.services`) },
        imageArgs: Object.fromEntries(Object.entries(spec.images).map(([name, img]) => [name, interpolateDeep(img.args, combo, `images.${name}.args`)])),
      });
    }
  }
  if (selector && cells.length === 0) throw new AirlockError('USAGE', 'no matrix cell matches the selection');
  return cells;
}

/**
 * The image builds the cells need: one per image and distinct build args, so
 * cells whose build inputs are equal share one build. Each variant lists the
 * variants it is built after (same args, its target among their stages).
 */
function imageVariants(planned: Map<string, PlannedImage>, cells: PlannedCell[]): ImageVariant[] {
  const variants = new Map<string, ImageVariant>();
  const variantOf = (name: string, cell: PlannedCell): string => {
    const image = planned.get(name)!;
    const args = { ...image.spec.args, ...cell.imageArgs[name] };
    const key = `${name}@${sha256Hex(canonicalJson(args)).slice(0, 12)}`;
    if (variants.has(key)) return key;
    const after = image.after.map((dep) => variantOf(dep, cell));
    variants.set(key, { ...image, key, args, after, tag: `airlock.local/${image.tag}:${key.slice(name.length + 1)}` });
    return key;
  };
  for (const cell of cells) {
    cell.image = variantOf(cell.spec.image, cell);
    cell.serviceImages = Object.fromEntries(cell.spec.services.filter((svc) => planned.has(svc.image)).map((svc) => [svc.name, variantOf(svc.image, cell)]));
  }
  // dependency order: every variant after the ones it is built after
  const ordered: ImageVariant[] = [];
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    variants.get(key)!.after.forEach(visit);
    ordered.push(variants.get(key)!);
  };
  [...variants.keys()].sort().forEach(visit);
  return ordered;
}
