import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import type { SshOptions } from './ssh-options.js';

const require = createRequire(import.meta.url);

export interface SshTarget extends SshOptions {
  host: string;
  port: number;
  username?: string;
}

/**
 * An HTTP agent that reaches an engine over one SSH session: each HTTP connection is a
 * channel running `docker system dial-stdio` on the server, as the docker CLI does for
 * ssh:// hosts. docker-modem's own ssh transport opens a new SSH session (key exchange,
 * login) for every request, over a second per request; a cell makes dozens of them.
 * The session is opened on first use, opened again after it drops, and does not keep
 * the process alive while no request is open.
 */
export function sshHttpAgent(target: SshTarget): Agent {
  let session: Promise<{ client: Client; sock: Socket }> | undefined;

  const connectSession = () =>
    new Promise<{ client: Client; sock: Socket }>((resolve, reject) => {
      const sock = connect(target.port, target.host);
      // ssh2 loads only for an ssh:// engine (~0.1 s otherwise paid by every command)
      const client = new (require('ssh2') as typeof import('ssh2')).Client();
      const drop = () => {
        session = undefined;
      };
      client
        .once('ready', () => resolve({ client, sock }))
        // every error, not just the first: an unheard 'error' would end the process
        .on('error', (e) => {
          drop();
          const hint = /verification failed/i.test(e.message) ? ' (its host key is not in known_hosts: add it, e.g. with ssh-keyscan, after checking it)' : '';
          reject(new Error(`ssh://${target.host}:${target.port}: ${e.message}${hint}`, { cause: e }));
        })
        .once('close', drop);
      client.connect({
        sock,
        username: target.username ?? userInfo().username,
        hostVerifier: target.hostVerifier,
        ...(target.agent ? { agent: target.agent } : {}),
        ...(target.privateKey ? { privateKey: target.privateKey } : {}),
        readyTimeout: 15_000,
      });
    });

  // Keep-alive reuses a channel (one dial-stdio) for request after request, as the docker CLI
  // does; the agent refs a connection while it carries a request and unrefs it while idle.
  const agent = new Agent({ keepAlive: true });
  (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, callback: (err: Error | null, stream?: Duplex) => void) => {
    session ??= connectSession();
    session.then(
      ({ client, sock }) => {
        // held from the moment the channel is asked for: while the server answers, nothing else may keep
        // the process alive, and an idle (unref'd) session would let it exit mid-request (code 13)
        const hold = holder(sock);
        hold(true);
        client.exec('docker system dial-stdio', (err, channel) => {
          if (err) {
            hold(false);
            return callback(err);
          }
          callback(null, socketLike(channel, hold));
        });
      },
      (e: Error) => callback(e),
    );
    return undefined;
  };
  return agent;
}

/** Channels holding the process open, per SSH connection: the connection is unref'd when none does. */
const held = new WeakMap<Socket, number>();

/** One user's hold on the SSH connection: the socket stays ref'd while any user holds it. */
function holder(sock: Socket): (on: boolean) => void {
  let refd = false;
  return (on) => {
    if (on === refd) return;
    refd = on;
    const n = (held.get(sock) ?? 0) + (on ? 1 : -1);
    held.set(sock, n);
    if (n > 0) sock.ref();
    else sock.unref();
  };
}

/**
 * What http.Agent asks of a connection beyond a Duplex (keep-alive, timeouts, ref/unref),
 * on an SSH channel: ref and unref move the channel's hold on the SSH connection.
 */
function socketLike(channel: Duplex, hold: (on: boolean) => void): Duplex {
  channel.once('close', () => hold(false));
  return Object.assign(channel, {
    ref: () => (hold(true), channel),
    unref: () => (hold(false), channel),
    setKeepAlive: () => channel,
    setNoDelay: () => channel,
    setTimeout: (_ms: number, cb?: () => void) => (cb && channel.once('timeout', cb), channel),
  });
}
