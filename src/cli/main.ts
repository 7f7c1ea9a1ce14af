import { EXIT, toAirlockError } from '../errors.js';
import { AIRLOCK_VERSION } from '../version.js';
import type { Command } from './command.js';
import { baseCommand } from './commands/base.js';
import { casCommand } from './commands/cas.js';
import { explainCommand } from './commands/explain.js';
import { exportCommand } from './commands/export.js';
import { fetchCommand, lockCommand } from './commands/fetch.js';
import { gcCommand } from './commands/gc.js';
import { keygenCommand } from './commands/keygen.js';
import { matrixCommand } from './commands/matrix.js';
import { replayCommand } from './commands/replay.js';
import { reproCommand } from './commands/repro.js';
import { runCommand } from './commands/run.js';
import { schemaCommand } from './commands/schema.js';
import { smokeCommand } from './commands/smoke.js';
import { verifyCommand } from './commands/verify.js';

const COMMANDS: Command[] = [runCommand, smokeCommand, matrixCommand, explainCommand, reproCommand, replayCommand, verifyCommand, exportCommand, fetchCommand, lockCommand, keygenCommand, baseCommand, gcCommand, casCommand, schemaCommand];

const EXIT_TABLE = `exit codes:
  0 ok · 1 an expectation failed, not reproducible, replay differs · 2 usage · 3 engine / base images · 4 invalid spec
  5 build failed · 6 policy not applied / unsafe archive · 7 bundle not verified
  8 store corrupt · 9 signing key missing or invalid · 10 internal error
  11 input fetch failed or not pinned · 130 interrupted`;

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `airlock ${AIRLOCK_VERSION}: hermetic builds, sealed cells, signed proof bundles

usage: airlock <command> [options]   (airlock <command> --help for its options)

${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

every command takes --json (machine-readable output on stdout) and --help.
${EXIT_TABLE}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${AIRLOCK_VERSION}\n`);
    return EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  try {
    if (!command) throw toAirlockError(Object.assign(new Error(`unknown command "${name}"; run airlock --help`), {}));
    return await command.run(rest);
  } catch (e) {
    const err = toAirlockError(e);
    const code = command ? err.exitCode : EXIT.USAGE;
    if (json) process.stdout.write(`${JSON.stringify({ type: 'error', ...err.toJSON(), exitCode: code })}\n`);
    else process.stderr.write(`airlock: error [${command ? err.code : 'USAGE'}]: ${err.message}\n`);
    if (err.code === 'INTERNAL' && process.env.AIRLOCK_DEBUG) process.stderr.write(`${(err.cause as Error)?.stack ?? err.stack}\n`);
    return code;
  }
}
