/**
 * Reading `airlock.yaml`: bytes → YAML document → schema and cross-checks → normalized spec.
 * Every problem is collected and thrown together as one SPEC_INVALID error whose details
 * carry each problem's path, line and column.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { AirlockError } from '../errors.js';
import { readBounded } from '../util/bounded-read.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { crossCheck } from './check.js';
import { formatPath, fromZod, humanErrorMap, type PathIssue } from './issues.js';
import { locator } from './locate.js';
import { normalize } from './normalize.js';
import { specSchema } from './schema.js';
import type { LoadedSpec, SpecIssue } from './types.js';
import { MAX_SPEC_BYTES, scanDocument, sizeIssue } from './yaml-limits.js';

/** Reads and validates a spec file. Throws SPEC_NOT_FOUND, SPEC_YAML or SPEC_INVALID. */
export async function loadSpec(file: string): Promise<LoadedSpec> {
  const abs = resolve(file);
  const notFound = (why: string, cause?: unknown) =>
    new AirlockError('SPEC_NOT_FOUND', `spec file ${shown(abs)} ${why}`, { cause, details: { file: abs } });
  let real: string;
  try {
    // The spec may be a symlink the user made; what it points to is read as a regular file only.
    real = await realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw notFound(code === 'ENOENT' || code === 'ENOTDIR' ? 'not found' : `cannot be read (${code ?? String(e)})`, e);
  }
  // A fifo or a device is refused at once, and a huge file before it is read.
  const bytes = await readBounded(real, MAX_SPEC_BYTES, (p) => {
    if (p.kind === 'too-big') return invalid('SPEC_INVALID', abs, [sizeIssue(p.size ?? MAX_SPEC_BYTES + 1)!]);
    if (p.kind === 'not-regular') return notFound(`is not a spec file: ${p.message}`);
    return notFound(p.kind === 'missing' ? 'not found' : `cannot be read (${p.errno ?? p.kind})`);
  });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw new AirlockError('SPEC_YAML', `${shown(abs)}: not valid UTF-8 text`, { cause: e, details: { file: abs } });
  }
  return parse(text, abs, sha256Digest(bytes));
}

/**
 * Validates spec text as if read from `file`, which names it in messages and anchors its
 * relative paths (golden files are checked on disk). Throws SPEC_YAML or SPEC_INVALID.
 */
export function parseSpec(text: string, file: string): LoadedSpec {
  return parse(text, resolve(file), sha256Digest(text));
}

function parse(text: string, file: string, digest: Digest): LoadedSpec {
  const dir = dirname(file);
  const tooBig = sizeIssue(Buffer.byteLength(text, 'utf8'));
  if (tooBig !== undefined) throw invalid('SPEC_INVALID', file, [tooBig]);
  const lc = new LineCounter();
  // uniqueKeys off: the package checks it in quadratic time; scanDocument does it in linear time.
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): SpecIssue => {
      const { line, col } = lc.linePos(e.pos[0]);
      const message = e.code === 'MULTIPLE_DOCS' ? 'a spec is a single YAML document; remove the "---" separator' : e.message;
      return { path: '', line, column: col, message };
    });
    throw invalid('SPEC_YAML', file, issues, 'invalid YAML');
  }
  const { tooManyNodes, duplicateKeys } = scanDocument(doc, lc);
  if (tooManyNodes !== undefined) throw invalid('SPEC_INVALID', file, [tooManyNodes]);
  if (duplicateKeys.length > 0) throw invalid('SPEC_YAML', file, duplicateKeys, 'invalid YAML');
  if (doc.contents === null) {
    const message = 'the file is empty; a spec needs at least version, name, images and environments';
    throw invalid('SPEC_INVALID', file, [{ path: '', line: 1, column: 1, message }]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw invalid('SPEC_YAML', file, [{ path: '', line: 1, column: 1, message }], 'invalid YAML');
  }
  const result = specSchema.safeParse(data, { error: humanErrorMap, reportInput: true });
  const problems = [...(result.success ? [] : fromZod(result.error.issues)), ...crossCheck(data, dir)];
  if (!result.success || problems.length > 0) {
    throw invalid('SPEC_INVALID', file, positioned(doc, lc, problems));
  }
  return { file, dir, text, digest, spec: normalize(result.data, dir) };
}

function positioned(doc: Document, lc: LineCounter, problems: readonly PathIssue[]): SpecIssue[] {
  const locate = locator(doc, lc);
  return problems
    .map((p): SpecIssue => ({ path: formatPath(p.path), ...locate(p.path, p.onKey), message: p.message }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

function invalid(code: 'SPEC_YAML' | 'SPEC_INVALID', file: string, issues: SpecIssue[], headline?: string): AirlockError {
  const name = shown(file);
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.map((i) => `  ${name}:${i.line}:${i.column}  ${i.path === '' ? '' : `${i.path}: `}${i.message}`);
  const message = [`${name}: ${headline ?? count}`, ...lines].join('\n');
  return new AirlockError(code, message, { details: { file, issues } });
}

/** The file as a person would type it: relative to the working directory when under it. */
function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel) ? rel : file;
}
