/**
 * What a spec may cost to read. A spec is a few hundred YAML nodes; these limits are two
 * orders of magnitude above that and keep a hostile or generated spec from costing
 * seconds (the `yaml` package's own duplicate-key check is quadratic in a mapping's size,
 * so it is switched off and done here, once per mapping, with a set).
 */
import { isMap, isScalar, visit, type Document, type LineCounter, type Node } from 'yaml';
import type { SpecIssue } from './types.js';

/** The largest spec file read: 128 KiB (the root example is under 3 KiB). */
export const MAX_SPEC_BYTES = 128 * 1024;
/** The most YAML nodes (mappings, sequences, scalars, aliases) a spec may have. */
export const MAX_SPEC_NODES = 10_000;

/** The size problem of a spec of `bytes` bytes, if any, as a problem at 1:1. */
export function sizeIssue(bytes: number): SpecIssue | undefined {
  if (bytes <= MAX_SPEC_BYTES) return undefined;
  return { path: '', line: 1, column: 1, message: `the spec is ${bytes} bytes, more than the limit of ${MAX_SPEC_BYTES} (128 KiB)` };
}

/**
 * One pass over the document: too many nodes (reported at the first node past the limit,
 * and the pass stops there), and keys repeated in a mapping (each repeat at its key).
 */
export function scanDocument(doc: Document, lc: LineCounter): { tooManyNodes?: SpecIssue; duplicateKeys: SpecIssue[] } {
  const duplicateKeys: SpecIssue[] = [];
  let tooManyNodes: SpecIssue | undefined;
  const at = (node: Node | null | undefined) => {
    const { line, col } = lc.linePos(node?.range?.[0] ?? 0);
    return { line, column: col };
  };
  let nodes = 0;
  visit(doc, {
    Node(_key, node) {
      nodes += 1;
      if (nodes > MAX_SPEC_NODES) {
        tooManyNodes = { path: '', ...at(node), message: `the spec has more than ${MAX_SPEC_NODES} YAML nodes (the limit); is it generated?` };
        return visit.BREAK;
      }
      if (!isMap(node)) return undefined;
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) duplicateKeys.push({ path: '', ...at(pair.key), message: `Map keys must be unique; "${key}" is repeated` });
        seen.add(key);
      }
      return undefined;
    },
  });
  return { ...(tooManyNodes && { tooManyNodes }), duplicateKeys };
}
