import { relative } from 'node:path';
import type Docker from 'dockerode';
import PQueue from 'p-queue';
import { BuildFailure, buildImage } from '../engine/build.js';
import { measureImage } from '../engine/measure.js';
import type { ManifestBlob } from '../proof/manifest.js';
import type { TranscriptWriter } from '../proof/transcript.js';
import type { ImageVariant } from '../plan/plan.js';
import type { Digest } from '../util/digest.js';
import type { Reporter } from './reporter.js';
import type { Workspace } from './workspace.js';

export interface BuiltImage {
  /** the variant key (`<image>@<args hash>`) */
  key: string;
  name: string;
  tag: string;
  args: Record<string, string>;
  imageId: string;
  rootfsDigest: Digest;
  durationMs: number;
}

export interface ContextTar {
  digest: Digest;
  size: number;
  entries: number;
  dockerfileName: string;
  tarPath: string;
}

export interface BuilderContext {
  docker: Docker;
  workspace: Workspace;
  transcript: TranscriptWriter;
  reporter: Reporter;
  runId: string;
  specName: string;
  contexts: Map<string, ContextTar>;
  addBlob: (b: ManifestBlob) => void;
  noCache: boolean;
  signal: AbortSignal;
  /** builds at once (the engine's classic builder copes with a few; more only contend for cores) */
  concurrency: number;
}

export const contextKey = (v: { contextDir: string; dockerfilePath: string }) => `${v.contextDir}\0${v.dockerfilePath}`;

/**
 * Builds image variants on demand, each at most once per run, after the
 * variants it depends on; cells ask for what they need and share the result.
 */
export class Builder {
  readonly built: BuiltImage[] = [];
  readonly #builds = new Map<string, Promise<BuiltImage>>();
  readonly #queue: PQueue;
  readonly #variants: Map<string, ImageVariant>;

  constructor(
    private readonly ctx: BuilderContext,
    variants: ImageVariant[],
  ) {
    this.#queue = new PQueue({ concurrency: ctx.concurrency });
    this.#variants = new Map(variants.map((v) => [v.key, v]));
  }

  image(key: string): Promise<BuiltImage> {
    let build = this.#builds.get(key);
    if (!build) {
      const variant = this.#variants.get(key)!;
      build = Promise.all(variant.after.map((dep) => this.image(dep))).then(() => this.#queue.add(() => this.#build(variant)) as Promise<BuiltImage>);
      this.#builds.set(key, build);
      // The first cell to await it sees a failure; the others see it too, but only once each.
      build.catch(() => undefined);
    }
    return build;
  }

  async #build(variant: ImageVariant): Promise<BuiltImage> {
    const { docker, reporter, workspace, transcript } = this.ctx;
    const context = this.ctx.contexts.get(contextKey(variant))!;
    reporter.event({ type: 'build-started', image: variant.name, variant: variant.key, target: variant.spec.target });
    const startedAt = performance.now();
    let result;
    try {
      result = await buildImage(docker, {
        contextTar: context.tarPath,
        dockerfile: context.dockerfileName,
        ...(variant.spec.target ? { target: variant.spec.target } : {}),
        args: variant.args,
        labels: { ...variant.spec.labels, 'dev.airlock.spec': this.ctx.specName, 'dev.airlock.image': variant.name },
        tag: variant.tag,
        noCache: this.ctx.noCache,
        signal: this.ctx.signal,
        onLine: (line) => reporter.event({ type: 'build-line', image: variant.name, line }),
      });
    } catch (e) {
      if (e instanceof BuildFailure) {
        const log = await workspace.cas.put(Buffer.from(e.log, 'utf8'));
        this.ctx.addBlob({ ...log, role: 'build-log', name: variant.key });
        transcript.append('build', { image: variant.name, variant: variant.key, target: variant.spec.target ?? null, tag: variant.tag, args: variant.args, error: e.message, step: e.details.step ?? null, log });
      }
      throw e;
    }
    const durationMs = Math.round(performance.now() - startedAt);
    const log = await workspace.cas.put(Buffer.from(result.log, 'utf8'));
    this.ctx.addBlob({ ...log, role: 'build-log', name: variant.key });
    transcript.append('build', {
      image: variant.name,
      variant: variant.key,
      target: variant.spec.target ?? null,
      tag: variant.tag,
      dockerfile: relative(workspace.root, variant.dockerfilePath),
      context: context.digest,
      args: variant.args,
      imageId: result.imageId,
      durationMs,
      log,
    });

    // The rootfs digest of an image id never changes: measure each id once.
    let measured = workspace.ledger.getRootfsDigest(result.imageId);
    let listing: { digest: Digest; size: number };
    if (!measured || !measured.listingDigest || !(await workspace.cas.has(measured.listingDigest))) {
      const m = await measureImage(docker, result.imageId, this.ctx.runId);
      listing = await workspace.cas.put(m.listing);
      workspace.ledger.putRootfsDigest({ imageId: result.imageId, rootfsDigest: m.digest, listingDigest: listing.digest });
      measured = workspace.ledger.getRootfsDigest(result.imageId)!;
    } else {
      listing = { digest: measured.listingDigest, size: await workspace.cas.size(measured.listingDigest) };
    }
    this.ctx.addBlob({ ...listing, role: 'rootfs-listing', name: variant.key });
    transcript.append('image', { image: variant.name, variant: variant.key, imageId: result.imageId, rootfsDigest: measured.rootfsDigest, listing });
    workspace.ledger.recordImage({ runId: this.ctx.runId, name: variant.key, imageId: result.imageId, rootfsDigest: measured.rootfsDigest, buildLogDigest: log.digest, durationMs });
    reporter.event({ type: 'build-finished', image: variant.name, variant: variant.key, imageId: result.imageId, rootfsDigest: measured.rootfsDigest, durationMs });
    const built: BuiltImage = { key: variant.key, name: variant.name, tag: variant.tag, args: variant.args, imageId: result.imageId, rootfsDigest: measured.rootfsDigest, durationMs };
    this.built.push(built);
    return built;
  }
}
