import { relative } from 'node:path';
import type { Engine } from '../engine/engine.js';
import PQueue from 'p-queue';
import { BuildFailure, buildImage } from '../engine/build.js';
import { measureImage } from '../engine/measure.js';
import type { ManifestBlob } from '../proof/manifest.js';
import type { TranscriptWriter } from '../proof/transcript.js';
import type { ImageVariant } from '../plan/plan.js';
import { canonicalJson } from '../proof/canonical-json.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { isNotFound } from '../engine/client.js';
import { LABEL_BUILT_BY_SPEC } from '../engine/labels.js';
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
  engine: Engine;
  workspace: Workspace;
  transcript: TranscriptWriter;
  reporter: Reporter;
  runId: string;
  specName: string;
  contexts: Map<string, ContextTar>;
  /** base image ref → the engine's image id, as the inputs phase inspected it */
  baseIds: Map<string, string>;
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

  /**
   * The build's inputs as one digest: context, Dockerfile, target, args, labels
   * and the exact base images. Equal inputs made an image before: if the engine
   * still has it, it is reused without asking the engine to build.
   */
  #buildKey(variant: ImageVariant, context: ContextTar, labels: Record<string, string>): string {
    const bases = variant.bases.map((ref) => [ref, this.ctx.baseIds.get(ref)!]);
    return sha256Digest(canonicalJson({ context: context.digest, dockerfile: context.dockerfileName, target: variant.spec.target ?? null, args: variant.args, labels, bases }));
  }

  async #cachedImage(key: string): Promise<{ id: string; tags: string[] } | undefined> {
    const imageId = this.ctx.workspace.ledger.getBuild(key);
    if (!imageId) return undefined;
    return this.ctx.engine.images
      .inspect(imageId)
      .then((i) => ({ id: i.Id, tags: i.RepoTags ?? [] }))
      .catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
  }

  async #build(variant: ImageVariant): Promise<BuiltImage> {
    const { engine, reporter, workspace, transcript } = this.ctx;
    const context = this.ctx.contexts.get(contextKey(variant))!;
    const labels = { ...variant.spec.labels, [LABEL_BUILT_BY_SPEC]: this.ctx.specName, 'dev.airlock.image': variant.name };
    const buildKey = this.#buildKey(variant, context, labels);
    const cached = this.ctx.noCache ? undefined : await this.#cachedImage(buildKey);
    if (cached) {
      transcript.append('build', { image: variant.name, variant: variant.key, target: variant.spec.target ?? null, tag: variant.tag, context: context.digest, args: variant.args, imageId: cached.id, buildKey, cached: true });
      // the tag names what this run built; it may have moved to another image since (one round trip less when not)
      if (!cached.tags.includes(variant.tag)) await engine.images.tag(cached.id, variant.tag.slice(0, variant.tag.lastIndexOf(':')), variant.tag.slice(variant.tag.lastIndexOf(':') + 1));
      return this.#measured(variant, cached.id, 0, null);
    }
    reporter.event({ type: 'build-started', image: variant.name, variant: variant.key, target: variant.spec.target });
    const startedAt = performance.now();
    let result;
    try {
      result = await buildImage(engine, {
        contextTar: context.tarPath,
        dockerfile: context.dockerfileName,
        ...(variant.spec.target ? { target: variant.spec.target } : {}),
        args: variant.args,
        labels,
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
      buildKey,
      durationMs,
      log,
    });
    workspace.ledger.putBuild(buildKey, variant.key, result.imageId);
    return this.#measured(variant, result.imageId, durationMs, log.digest);
  }

  async #measured(variant: ImageVariant, imageId: string, durationMs: number, logDigest: Digest | null): Promise<BuiltImage> {
    const { engine, reporter, workspace, transcript } = this.ctx;
    // The rootfs digest of an image id never changes: measure each id once.
    let measured = workspace.ledger.getRootfsDigest(imageId);
    let listing: { digest: Digest; size: number };
    if (!measured || !measured.listingDigest || !(await workspace.cas.has(measured.listingDigest))) {
      const m = await measureImage(engine, imageId, this.ctx.runId);
      listing = await workspace.cas.put(m.listing);
      workspace.ledger.putRootfsDigest({ imageId: imageId, rootfsDigest: m.digest, listingDigest: listing.digest });
      measured = workspace.ledger.getRootfsDigest(imageId)!;
    } else {
      listing = { digest: measured.listingDigest, size: await workspace.cas.size(measured.listingDigest) };
    }
    this.ctx.addBlob({ ...listing, role: 'rootfs-listing', name: variant.key });
    transcript.append('image', { image: variant.name, variant: variant.key, imageId: imageId, rootfsDigest: measured.rootfsDigest, listing });
    workspace.ledger.recordImage({ runId: this.ctx.runId, name: variant.key, imageId: imageId, rootfsDigest: measured.rootfsDigest, buildLogDigest: logDigest, durationMs });
    reporter.event({ type: 'build-finished', image: variant.name, variant: variant.key, imageId: imageId, rootfsDigest: measured.rootfsDigest, durationMs });
    const built: BuiltImage = { key: variant.key, name: variant.name, tag: variant.tag, args: variant.args, imageId: imageId, rootfsDigest: measured.rootfsDigest, durationMs };
    this.built.push(built);
    return built;
  }
}
