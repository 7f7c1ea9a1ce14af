import { readFile, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { AirlockError } from '../errors.js';
import type { EnvironmentSpec, ImageSpec, LoadedSpec } from '../spec/types.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { parseDockerfileStages, stageClosure, targetStage } from './dockerfile.js';

export interface PlannedImage {
  name: string;
  spec: ImageSpec;
  dockerfilePath: string;
  dockerfileDigest: Digest;
  contextDir: string;
  /** external images its stages build FROM (base images) */
  bases: string[];
  /** other spec images built first (their target is a stage this one needs) */
  after: string[];
  /** the local tag it is built under */
  tag: string;
}

export interface PlannedEnvironment {
  name: string;
  spec: EnvironmentSpec;
}

export interface Plan {
  /** in dependency order */
  images: PlannedImage[];
  environments: PlannedEnvironment[];
}

const specError = (loaded: LoadedSpec, path: string, message: string) =>
  new AirlockError('SPEC_INVALID', `${relative(process.cwd(), loaded.file) || loaded.file}: ${path}: ${message}`, {
    details: { file: loaded.file, issues: [{ path, message }] },
  });

/**
 * Resolves a spec into what will be built and run: reads each Dockerfile to find
 * its stages, checks every target exists, and orders images so one whose target
 * is a stage another needs is built first.
 */
export async function planRun(loaded: LoadedSpec, only: string[] = []): Promise<Plan> {
  const { spec } = loaded;
  const unknown = only.filter((e) => !(e in spec.environments));
  if (unknown.length > 0) {
    throw new AirlockError('USAGE', `no environment ${unknown.map((u) => `"${u}"`).join(', ')} in ${loaded.file} (defined: ${Object.keys(spec.environments).join(', ')})`);
  }
  const envNames = only.length > 0 ? only : Object.keys(spec.environments);
  const needed = new Set(envNames.map((e) => spec.environments[e]!.image));

  const planned = new Map<string, PlannedImage>();
  const targets = new Map<string, { target: number; stages: Set<number> }>();
  for (const [name, image] of Object.entries(spec.images)) {
    const dockerfilePath = resolve(loaded.dir, image.dockerfile);
    const contextDir = resolve(loaded.dir, image.context);
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
      tag: `airlock.local/${spec.name}/${name}:latest`,
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

  // Only images some selected environment needs, plus what those are built after.
  const wanted = new Set<string>();
  const want = (n: string) => {
    if (wanted.has(n)) return;
    wanted.add(n);
    planned.get(n)?.after.forEach(want);
  };
  needed.forEach(want);

  const ordered: PlannedImage[] = [];
  const done = new Set<string>();
  const visit = (n: string) => {
    if (done.has(n)) return;
    done.add(n);
    const image = planned.get(n)!;
    image.after.forEach(visit);
    ordered.push(image);
  };
  [...wanted].sort().forEach(visit);

  return { images: ordered, environments: envNames.map((name) => ({ name, spec: spec.environments[name]! })) };
}
