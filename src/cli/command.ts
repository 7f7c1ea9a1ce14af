import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AirlockError } from '../errors.js';
import { humanReporter, jsonReporter, type Reporter } from '../run/reporter.js';
import { didYouMean } from '../spec/issues.js';
import { locate, requireSpec } from './locate.js';
import { resultLine } from './output.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
const COMMON = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  root: { type: 'string' },
} as const satisfies Options;

/** The flags naming the spec, for commands that read one: -f/--file, and --spec, its older spelling. */
export const SPEC_OPTIONS = { file: { type: 'string', short: 'f' }, spec: { type: 'string' } } as const satisfies Options;

/** Help lines of the spec and workspace flags, shared by every usage text that lists them. */
export const SPEC_FLAG_HELP = `  -f, --file FILE  the spec (default: AIRLOCK_FILE, else airlock.yaml or airlock.yml in this
                   folder or the nearest one above it); --spec FILE is the same`;
/** What every command that seals a bundle says about trusting its signing key (README "Keys and trust"). */
export const TRUST_HELP = `The first bundle sealed in a project whose locks/keys/ holds no key makes the signing
key trusted: its public key is written to locks/keys/<keyid>.pub.pem (said on stderr and
in the result's \`trust\`). A project that trusts other keys gets nothing added: the bundle
is sealed, fails verification with KEY_UNTRUSTED and the command exits 7 (add the key
with \`airlock keygen --if-missing\`).`;
export const ROOT_FLAG_HELP = `  --root DIR       workspace holding artifacts/, proofs/, locks/ (default: AIRLOCK_ROOT, else the
                   spec's folder, else the current directory)`;

export type Values<O extends Options> = Record<keyof O | keyof typeof COMMON, unknown>;

/** What a command's body gets: its parsed flags, positionals, where its workspace is, and where to write. */
export interface CommandContext<V> {
  values: V;
  positionals: string[];
  json: boolean;
  reporter: Reporter;
  /** the workspace root (see locate.ts) */
  root: string;
  /** the spec file; throws SPEC_NOT_FOUND when none was named or found */
  specFile(): string;
  /**
   * The command's result: its own fields for the `--json` result line (written
   * after the body returns, with the exit code it returned), and lines for people.
   */
  result(fields: object, human: string[]): void;
}

export type Body<O extends Options> = (ctx: CommandContext<Values<O>>) => Promise<number>;

/** A command as the CLI lists it: all of it but the body is here, so help never loads the body's modules. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

/**
 * Declares a command: flags (plus the common --json, --help, --root), its usage
 * text, and `load`, which imports the body only when the command runs — start-up
 * stays cheap because each body's engine, HTTP or SQLite code loads on demand.
 * Unknown flags are usage errors (exit 2), never ignored.
 */
export function defineCommand<O extends Options>(def: {
  name: string;
  summary: string;
  usage: string;
  options: O;
  allowPositionals?: boolean;
  load: () => Promise<Body<O>>;
}): Command {
  const options: Options = { ...COMMON, ...def.options };
  return {
    name: def.name,
    summary: def.summary,
    usage: def.usage,
    async run(argv) {
      const parsed = parse(argv, options, def.allowPositionals ?? false, def.usage);
      const values = parsed.values as Values<O>;
      if (values.help) {
        process.stdout.write(`${def.usage}\n`);
        return 0;
      }
      const cwd = process.cwd();
      const location = locate({ file: (values.file ?? values.spec) as string | undefined, root: values.root as string | undefined, cwd, env: process.env });
      if (location.note) process.stderr.write(`${location.note}\n`);
      const json = values.json === true;
      let result: { fields: object; human: string[] } | undefined;
      const body = await def.load();
      const exitCode = await body({
        values,
        positionals: parsed.positionals,
        json,
        reporter: json ? jsonReporter() : humanReporter(),
        root: location.root,
        specFile: () => requireSpec(location, cwd),
        result: (fields, human) => void (result = { fields, human }),
      });
      if (json) process.stdout.write(`${resultLine(def.name, exitCode, result?.fields ?? {})}\n`);
      else if (result && result.human.length > 0) process.stdout.write(`${result.human.join('\n')}\n`);
      return exitCode;
    },
  };
}

function parse(argv: string[], options: Options, allowPositionals: boolean, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-{1,2}[^'=]+)/.exec(err.message)?.[1] : undefined;
    const message = unknown === undefined ? err.message : `Unknown option '${unknown}'${didYouMean(unknown, flagNames(options))}`;
    throw new AirlockError('USAGE', `${message}\n\n${usage}`);
  }
}

function flagNames(options: Options): string[] {
  return Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
}
