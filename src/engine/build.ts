import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { AirlockError } from '../errors.js';
import type { Engine } from './engine.js';
import { readEngineMessages } from './json-stream.js';

export interface BuildRequest {
  /** a build-context tar on disk (see archive/context.ts) */
  contextTar: string;
  /** the Dockerfile's name inside that tar */
  dockerfile: string;
  target?: string;
  args: Record<string, string>;
  labels: Record<string, string>;
  tag: string;
  noCache?: boolean;
  signal?: AbortSignal;
  /** each line of build output as it arrives, for progress */
  onLine?: (line: string) => void;
}

export interface BuildResult {
  imageId: string;
  log: string;
}

/** A failed build still has a log worth keeping: it rides on the error. */
export class BuildFailure extends AirlockError {
  constructor(
    message: string,
    readonly log: string,
    details: Record<string, unknown>,
  ) {
    super('BUILD_FAILED', message, { details });
  }
}

const STEP_RE = /^Step (\d+\/\d+) : (.*)$/;

/**
 * Builds one target through the Engine API with the build network set to none:
 * whatever a build needs must already be in its base image or its context.
 */
export async function buildImage(engine: Engine, req: BuildRequest): Promise<BuildResult> {
  let log = '';
  let step: string | undefined;
  let imageId: string | undefined;
  let error: string | undefined;
  const fail = (message: string) =>
    new BuildFailure(message, log, { tag: req.tag, target: req.target ?? null, step: step ?? null, error: message });

  let stream: Readable;
  try {
    stream = await engine.images.build(createReadStream(req.contextTar), {
      t: req.tag,
      dockerfile: req.dockerfile,
      ...(req.target ? { target: req.target } : {}),
      buildargs: req.args,
      labels: req.labels,
      networkmode: 'none',
      rm: true,
      forcerm: true,
      nocache: req.noCache ?? false,
      ...(req.signal ? { abortSignal: req.signal } : {}),
    });
  } catch (e) {
    throw fail(`the engine refused the build: ${(e as Error).message}`);
  }

  await readEngineMessages(stream, (m) => {
    if (m.stream !== undefined) {
      log += m.stream;
      for (const line of m.stream.split('\n')) {
        const s = STEP_RE.exec(line.trim());
        if (s) step = `${s[1]} ${s[2]}`;
        if (line.trim() !== '') req.onLine?.(line);
      }
    }
    if (m.aux?.ID) imageId = m.aux.ID;
    if (m.error !== undefined) {
      error = m.errorDetail?.message ?? m.error;
      log += `ERROR: ${error}\n`;
    }
  });

  if (error !== undefined) {
    throw fail(`build of ${req.tag}${req.target ? ` (target ${req.target})` : ''} failed${step ? ` at step ${step}` : ''}: ${error}`);
  }
  if (imageId === undefined) {
    // Older engines only print "Successfully built"; the tag is authoritative then.
    try {
      imageId = (await engine.images.inspect(req.tag)).Id;
    } catch {
      throw fail(`build of ${req.tag} finished without producing an image`);
    }
  }
  return { imageId, log };
}
