import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AirlockError } from '../errors.js';
import { humanReporter, jsonReporter, type Reporter } from '../run/reporter.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What every command gets: its parsed flags, positionals, and where to write. */
export interface CommandContext<V> {
  values: V;
  positionals: string[];
  json: boolean;
  reporter: Reporter;
  /** prints the command's result: JSON on stdout with --json, else the human lines */
  result(json: unknown, human: string[]): void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

const COMMON: Options = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

/**
 * Declares a command: flags (plus the common --json and --help), its usage text,
 * and the body. Unknown flags are usage errors (exit 2), never ignored.
 */
export function defineCommand<O extends Options>(def: {
  name: string;
  summary: string;
  usage: string;
  options: O;
  allowPositionals?: boolean;
  body: (ctx: CommandContext<Record<keyof O | 'json' | 'help', unknown>>) => Promise<number>;
}): Command {
  return {
    name: def.name,
    summary: def.summary,
    usage: def.usage,
    async run(argv) {
      let parsed;
      try {
        parsed = parseArgs({ args: argv, options: { ...COMMON, ...def.options }, allowPositionals: def.allowPositionals ?? false, strict: true });
      } catch (e) {
        throw new AirlockError('USAGE', `${(e as Error).message}\n\n${def.usage}`);
      }
      const values = parsed.values as Record<string, unknown>;
      if (values.help) {
        process.stdout.write(`${def.usage}\n`);
        return 0;
      }
      const json = values.json === true;
      return def.body({
        values: values as Record<keyof O | 'json' | 'help', unknown>,
        positionals: parsed.positionals,
        json,
        reporter: json ? jsonReporter() : humanReporter(),
        result(payload, human) {
          if (json) process.stdout.write(`${JSON.stringify({ type: 'result', command: def.name, ...(payload as object) })}\n`);
          else if (human.length > 0) process.stdout.write(`${human.join('\n')}\n`);
        },
      });
    },
  };
}
