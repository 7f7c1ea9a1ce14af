/**
 * Finds where in the YAML text a spec path was written, so every problem can be reported
 * as `file:line:column`.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

/**
 * The position of the node at `path`, or of the nearest ancestor written in the file (a missing
 * key is reported at its parent mapping). With `onKey`, the position of the last segment's key.
 */
export function locate(doc: Document, lc: LineCounter, path: readonly PropertyKey[], onKey = false): Position {
  let node: Node | null = doc.contents;
  let keyNode: Node | null = null;
  for (const seg of path) {
    const current = resolve(doc, node);
    keyNode = null;
    let next: Node | null | undefined;
    if (isMap(current)) {
      const pair = current.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair !== undefined) {
        keyNode = pair.key as Node;
        // `key:` with nothing after it has no value node; point at the key instead.
        next = (pair.value as Node | null) ?? keyNode;
      }
    } else if (isSeq(current) && typeof seg === 'number') {
      next = current.items[seg] as Node | undefined;
    }
    if (next === undefined || next === null) break;
    node = next;
  }
  const target = onKey && keyNode !== null ? keyNode : node;
  const offset = target?.range?.[0] ?? 0;
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

function resolve(doc: Document, node: Node | null): Node | null {
  // Aliases are followed so `*defaults` reports the anchored node it stands for.
  return isAlias(node) ? ((node.resolve(doc) as Node | undefined) ?? null) : node;
}
