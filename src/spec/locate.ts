/**
 * Finds where in the YAML text a spec path was written, so every problem can be reported
 * as `file:line:column`.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

/** Finds positions of spec paths in one document; build it once per document and ask it for every problem. */
export type Locator = (path: readonly PropertyKey[], onKey?: boolean) => Position;

/**
 * The position of the node at a path, or of the nearest ancestor written in the file (a missing
 * key is reported at its parent mapping). With `onKey`, the position of the last segment's key.
 * Each mapping's keys are indexed the first time a path goes through it, so locating every
 * problem of a spec stays linear in its size.
 */
export function locator(doc: Document, lc: LineCounter): Locator {
  const keysOf = new Map<YAMLMap, Map<string, Pair>>();
  const pairIn = (map: YAMLMap, seg: PropertyKey): Pair | undefined => {
    let index = keysOf.get(map);
    if (index === undefined) {
      index = new Map();
      // The first of repeated keys, as the YAML parser reports repeats as errors of their own.
      for (const p of map.items) if (isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
      keysOf.set(map, index);
    }
    return index.get(String(seg));
  };
  return (path, onKey = false) => {
    let node: Node | null = doc.contents;
    let keyNode: Node | null = null;
    for (const seg of path) {
      const current = resolve(doc, node);
      keyNode = null;
      let next: Node | null | undefined;
      if (isMap(current)) {
        const pair = pairIn(current, seg);
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
  };
}

/**
 * A locator over a spec's text, for positions asked after loading (a failed step's line in a CI
 * annotation): the text is parsed again rather than every loaded spec keeping its YAML tree.
 */
export function textLocator(text: string): Locator {
  const lc = new LineCounter();
  return locator(parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false }), lc);
}

function resolve(doc: Document, node: Node | null): Node | null {
  // Aliases are followed so `*defaults` reports the anchored node it stands for.
  return isAlias(node) ? ((node.resolve(doc) as Node | undefined) ?? null) : node;
}
