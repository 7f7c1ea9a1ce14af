import { AirlockError } from '../errors.js';
import { didYouMean } from '../spec/issues.js';
import type { Command } from './command.js';
import { baseCommand } from './usage/base.js';
import { casCommand } from './usage/cas.js';
import { explainCommand } from './usage/explain.js';
import { exportCommand } from './usage/export.js';
import { fetchCommand, lockCommand } from './usage/fetch.js';
import { gcCommand } from './usage/gc.js';
import { keygenCommand } from './usage/keygen.js';
import { matrixCommand } from './usage/matrix.js';
import { replayCommand } from './usage/replay.js';
import { reproCommand } from './usage/repro.js';
import { runCommand } from './usage/run.js';
import { schemaCommand } from './usage/schema.js';
import { smokeCommand } from './usage/smoke.js';
import { verifyCommand } from './usage/verify.js';

/** Every command, in the order help lists them. Only names, help and flags: bodies load when run. */
export const COMMANDS: readonly Command[] = [
  runCommand,
  smokeCommand,
  matrixCommand,
  explainCommand,
  reproCommand,
  replayCommand,
  verifyCommand,
  exportCommand,
  fetchCommand,
  lockCommand,
  keygenCommand,
  baseCommand,
  gcCommand,
  casCommand,
  schemaCommand,
];

/** The command called `name`, or a usage error suggesting the nearest name. */
export function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command;
  throw new AirlockError('USAGE', `unknown command "${name}"${didYouMean(name, COMMANDS.map((c) => c.name))}; run airlock --help`);
}
