import type { Writable } from 'node:stream';

import { AirlockError } from '../errors.js';
import { decodeOutputEnd, decodeStepEnd, FrameType, Stream, type Frame } from './frame.js';

export interface SessionStepResult {
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
}

export interface SessionOutputResult {
  path: string;
  /** tar exited 0 and every byte arrived */
  ok: boolean;
  bytes: number;
  /** tar's stderr, or why the output is incomplete */
  error?: string;
}

export interface SessionSinks {
  stepSinks: (index: number) => { stdout: Writable; stderr: Writable };
  outputSink: (path: string) => Writable;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/**
 * The host's side of one guest's channel: checks that frames come in the only order
 * airlock-init sends them (HELLO, then per step START, DATA…, END, then per output
 * DATA…, END, then DONE; or ERROR at any point) and routes payloads to the caller's
 * sinks. Anything out of order is a ProtocolError: the channel is trusted for its
 * structure only, never re-synchronised.
 */
export class GuestSession {
  readonly steps: (SessionStepResult | null)[];
  readonly outputs: SessionOutputResult[] = [];
  hello: string | undefined;
  /** the guest's own report of a fatal init error */
  initError: string | undefined;
  done = false;
  /** the first error a sink raised; its later bytes are dropped */
  sinkError: unknown;

  readonly #paths: readonly string[];
  readonly #sinks: SessionSinks;
  /** the step whose START arrived and whose END has not */
  #step: { index: number; stdout: Writable; stderr: Writable } | undefined;
  /** the output whose bytes are arriving */
  #output: { index: number; sink: Writable; bytes: number } | undefined;
  #nextStep = 0;
  #nextOutput = 0;
  /** errors this session destroyed an output sink with (not the sink's own failure) */
  readonly #own = new WeakSet<object>();

  constructor(stepCount: number, outputPaths: readonly string[], sinks: SessionSinks) {
    this.steps = Array.from({ length: stepCount }, () => null);
    this.#paths = outputPaths;
    this.#sinks = sinks;
  }

  /** Handles one frame; returns a sink that asked for backpressure (wait for its 'drain'). */
  handle(f: Frame): Writable | undefined {
    if (this.done || this.initError !== undefined) throw new ProtocolError(`frame type ${f.type} after the guest finished`);
    if (this.hello === undefined && f.type !== FrameType.HELLO && f.type !== FrameType.ERROR) {
      throw new ProtocolError(`expected HELLO first, got frame type ${f.type}`);
    }
    switch (f.type) {
      case FrameType.HELLO:
        if (this.hello !== undefined) throw new ProtocolError('second HELLO');
        this.hello = f.payload.toString('utf8');
        return undefined;
      case FrameType.STEP_START: {
        if (this.#step || this.#nextOutput > 0 || this.#output) throw new ProtocolError(`STEP_START ${f.index} out of order`);
        if (f.index !== this.#nextStep || f.index >= this.steps.length) throw new ProtocolError(`STEP_START ${f.index}, expected ${this.#nextStep}`);
        const sinks = this.#sinks.stepSinks(f.index);
        this.#watch(sinks.stdout);
        this.#watch(sinks.stderr);
        this.#step = { index: f.index, ...sinks };
        return undefined;
      }
      case FrameType.STEP_DATA: {
        if (!this.#step || this.#step.index !== f.index) throw new ProtocolError(`STEP_DATA for step ${f.index} outside it`);
        if (f.stream !== Stream.STDOUT && f.stream !== Stream.STDERR) throw new ProtocolError(`STEP_DATA on unknown stream ${f.stream}`);
        return this.#write(f.stream === Stream.STDOUT ? this.#step.stdout : this.#step.stderr, f.payload);
      }
      case FrameType.STEP_END: {
        if (!this.#step || this.#step.index !== f.index) throw new ProtocolError(`STEP_END for step ${f.index} outside it`);
        this.steps[f.index] = decodeStepEnd(f.payload);
        this.#step.stdout.end();
        this.#step.stderr.end();
        this.#step = undefined;
        this.#nextStep += 1;
        return undefined;
      }
      case FrameType.OUTPUT_DATA: {
        const out = this.#openOutput(f.index);
        out.bytes += f.payload.length;
        return this.#write(out.sink, f.payload);
      }
      case FrameType.OUTPUT_END: {
        const out = this.#openOutput(f.index);
        const { status, message } = decodeOutputEnd(f.payload);
        const path = this.#paths[f.index]!;
        if (status === 0) {
          this.outputs.push({ path, ok: true, bytes: out.bytes });
          out.sink.end();
        } else {
          const error = message.trim() || `tar exited ${status}`;
          this.outputs.push({ path, ok: false, bytes: out.bytes, error });
          out.sink.destroy(this.#mark(outputError(path, error, status)));
        }
        this.#output = undefined;
        this.#nextOutput += 1;
        return undefined;
      }
      case FrameType.ERROR:
        this.initError = f.payload.toString('utf8');
        return undefined;
      case FrameType.DONE:
        if (this.#step || this.#output || this.#nextOutput !== this.#paths.length) throw new ProtocolError('DONE before every output was sent');
        this.done = true;
        return undefined;
      default:
        throw new ProtocolError(`unknown frame type ${f.type}`);
    }
  }

  /**
   * Ends whatever is still open once the channel is gone: a step's streams end with what
   * arrived (its result stays null), an output's sink is destroyed (a partial tar must
   * not pass for a whole one).
   */
  finish(reason: string): void {
    if (this.#step) {
      this.#step.stdout.end();
      this.#step.stderr.end();
      this.#step = undefined;
    }
    if (this.#output) {
      const path = this.#paths[this.#output.index]!;
      this.outputs.push({ path, ok: false, bytes: this.#output.bytes, error: reason });
      this.#output.sink.destroy(this.#mark(outputError(path, reason, null)));
      this.#output = undefined;
    }
  }

  #openOutput(index: number): { index: number; sink: Writable; bytes: number } {
    if (this.#step) throw new ProtocolError(`output ${index} during step ${this.#step.index}`);
    if (this.#output) {
      if (this.#output.index !== index) throw new ProtocolError(`output ${index} while output ${this.#output.index} is open`);
      return this.#output;
    }
    if (index !== this.#nextOutput || index >= this.#paths.length) throw new ProtocolError(`output ${index}, expected ${this.#nextOutput}`);
    const sink = this.#sinks.outputSink(this.#paths[index]!);
    this.#watch(sink);
    this.#output = { index, sink, bytes: 0 };
    return this.#output;
  }

  #watch(w: Writable): void {
    w.on('error', (e) => {
      if (!this.#own.has(e)) this.sinkError ??= e;
    });
  }

  #mark(e: AirlockError): AirlockError {
    this.#own.add(e);
    return e;
  }

  #write(w: Writable, payload: Buffer): Writable | undefined {
    if (w.destroyed || w.writableEnded) return undefined;
    return w.write(payload) ? undefined : w;
  }
}

function outputError(path: string, reason: string, status: number | null): AirlockError {
  return new AirlockError('STEP_FAILED', `could not collect output ${path} from the VM: ${reason}`, { details: { path, status } });
}
