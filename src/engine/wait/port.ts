import type { EngineContainer } from '../engine.js';
import { CANNOT_EXEC, execProbe } from './exec-probe.js';
import { endedReason, failed, GONE_REASON, poll, ready, stateOf, waiting, type Verdict, type WaitContext, type WaitResult, type WaitStrategy } from './strategy.js';

const POLL_MS = 200;
/** TCP state LISTEN in /proc/net/tcp{,6} (include/net/tcp_states.h). */
const TCP_LISTEN = '0A';
const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
// "  0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A ..."
const ROW = /^\s*\d+:\s+[0-9A-Fa-f]+:([0-9A-Fa-f]{4})\s+[0-9A-Fa-f]+:[0-9A-Fa-f]{4}\s+([0-9A-Fa-f]{2})\s/;

/** Ports with a socket in LISTEN state, from the text of /proc/net/tcp and/or /proc/net/tcp6 (headers and other rows ignored). */
export function listeningPorts(procNetTcp: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n')) {
    const m = ROW.exec(line);
    if (m && m[2]!.toUpperCase() === TCP_LISTEN) ports.add(parseInt(m[1]!, 16));
  }
  return ports;
}

/** Both tables are read in one go; a kernel without IPv6 has no tcp6, so a non-zero exit with a table printed still counts. */
export function portVerdict(port: number, exitCode: number, output: string): Verdict {
  if (listeningPorts(output).has(port)) return ready;
  if (CANNOT_EXEC.includes(exitCode)) return failed(`cannot read ${TABLES.join(' and ')} in the container (exit ${exitCode}): ${output.trim().slice(0, 300)}`);
  if (!/local_address/.test(output)) return failed(`${TABLES.join(' and ')} could not be read (exit ${exitCode}): ${output.trim().slice(0, 300)}`);
  return waiting(`nothing listens on tcp port ${port} yet`);
}

export interface ListeningPortOptions {
  /**
   * Path, inside the container, of a static busybox to read the tables with
   * (airlock mounts its helper at HELPER_MOUNT), so the image needs no tools at
   * all. Default: the image's own `cat`.
   */
  helper?: string;
}

/**
 * Ready when a TCP socket listens on `port` inside the container, judged from
 * the container's own /proc/net/tcp and /proc/net/tcp6: no connection is made,
 * no shell is used, and nothing needs to be published to the host.
 */
export class ListeningPortWaitStrategy implements WaitStrategy {
  readonly description: string;
  readonly #argv: string[];

  constructor(
    private readonly port: number,
    options: ListeningPortOptions = {},
  ) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`Expected \`port\` to be an integer from 1 to 65535, got \`${port}\``);
    this.description = `port ${port}`;
    this.#argv = options.helper ? [options.helper, 'cat', ...TABLES] : ['cat', ...TABLES];
  }

  waitUntilReady(container: EngineContainer, ctx: WaitContext): Promise<WaitResult> {
    return poll(
      this.description,
      ctx,
      async () => {
        const result = await execProbe(container, this.#argv, ctx);
        if (result.kind === 'exited') return portVerdict(this.port, result.exitCode, result.output);
        if (result.kind === 'timed-out') return waiting(`reading ${TABLES.join(' and ')} did not finish in time`);
        const state = await stateOf(container);
        if ('gone' in state) return failed(GONE_REASON);
        const ended = endedReason(state);
        return ended ? failed(ended) : waiting(`the container is ${state.Status}`);
      },
      POLL_MS,
    );
  }
}
