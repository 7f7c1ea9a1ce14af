import { AirlockError, EXIT, toAirlockError } from '../errors.js';
import { AIRLOCK_VERSION } from '../version.js';
import type { Command } from './command.js';
import { errorLine } from './output.js';
import { COMMANDS, findCommand } from './registry.js';

const EXIT_TABLE = `exit codes:
  0 ok · 1 an expectation failed, not reproducible, replay differs · 2 usage · 3 engine / base images · 4 spec missing or invalid
  5 build failed · 6 policy not applied / unsafe archive · 7 bundle not verified (or signed by an untrusted key)
  8 store corrupt · 9 signing key missing or invalid · 10 internal error
  11 input fetch failed or not pinned · 130 interrupted`;

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `airlock ${AIRLOCK_VERSION}: hermetic builds, sealed cells, signed proof bundles

usage: airlock <command> [options]   (airlock help <command>, or airlock <command> --help, for its options)

${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

every command takes --json (machine-readable output on stdout), --help and --root.
the spec is -f FILE, else AIRLOCK_FILE, else airlock.yaml or airlock.yml here or in the nearest folder above;
its folder is the workspace (artifacts/, proofs/, locks/).
-V, --version prints the version.
${EXIT_TABLE}`;
}

/** `airlock help [command]`: the overview, or one command's usage. */
function help(topic: string | undefined): number {
  process.stdout.write(`${topic === undefined ? usage() : findCommand(topic).usage}\n`);
  return EXIT.OK;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  let command: Command | undefined;
  try {
    if (name === undefined) {
      process.stdout.write(`${usage()}\n`);
      return EXIT.USAGE;
    }
    if (name === '--help' || name === '-h') return help(undefined);
    if (name === 'help') {
      if (rest.length > 1) throw new AirlockError('USAGE', 'airlock help takes at most one command');
      return help(rest[0]);
    }
    if (name === '--version' || name === '-V' || name === 'version') {
      process.stdout.write(`${AIRLOCK_VERSION}\n`);
      return EXIT.OK;
    }
    if (name.startsWith('-')) throw new AirlockError('USAGE', `expected a command before ${name}; run airlock --help`);
    command = findCommand(name);
    return await command.run(rest);
  } catch (e) {
    const err = toAirlockError(e);
    if (argv.includes('--json')) process.stdout.write(`${errorLine(command?.name ?? null, err)}\n`);
    else process.stderr.write(`airlock: error [${err.code}]: ${err.message}\n`);
    // under GitHub Actions: spec problems annotated at their file:line:col, other errors plainly
    if (process.env.GITHUB_ACTIONS === 'true') await (await import('./github.js')).reportErrorToGitHub(command?.name ?? null, err);
    if (err.code === 'INTERNAL' && process.env.AIRLOCK_DEBUG) process.stderr.write(`${(err.cause as Error)?.stack ?? err.stack}\n`);
    return err.exitCode;
  }
}
