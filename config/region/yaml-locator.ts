/**
 * Finds where a value sits in the YAML source, so that a problem found on the parsed data (by zod or by
 * the cross-checks) can name its line and column.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type ConfigPath = ReadonlyArray<string | number>;

export interface SourcePosition {
  line: number;
  column: number;
}

export interface Located {
  position: SourcePosition;
  /** The YAML node at the full path, when the path exists in the file. */
  node?: Node;
  /** The source text of that node when it is a scalar (090000167 even though YAML read a number). */
  sourceText?: string;
}

export function locate(doc: Document, lineCounter: LineCounter, path: ConfigPath, keyOf?: string): Located {
  let node: unknown = doc.contents;
  let lastPosition = positionOf(node, lineCounter) ?? { line: 1, column: 1 };
  for (const segment of path) {
    const next = childOf(node, segment);
    if (next === undefined) return { position: lastPosition };
    const position = positionOf(next.value ?? next.key, lineCounter) ?? positionOf(next.key, lineCounter);
    if (position) lastPosition = position;
    node = next.value;
  }
  if (keyOf !== undefined) {
    const pair = isMap(node) ? node.items.find((p) => keyText(p.key) === keyOf) : undefined;
    const position = pair ? positionOf(pair.key, lineCounter) : undefined;
    return { position: position ?? lastPosition };
  }
  return {
    position: lastPosition,
    node: node as Node | undefined,
    sourceText: isScalar(node) && typeof node.source === 'string' ? node.source : undefined,
  };
}

function childOf(node: unknown, segment: string | number): { key?: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment));
    return pair ? { key: pair.key, value: pair.value } : undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    return segment < node.items.length ? { value: node.items[segment] } : undefined;
  }
  return undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function positionOf(node: unknown, lineCounter: LineCounter): SourcePosition | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) return undefined;
  const { line, col } = lineCounter.linePos(range[0]);
  return { line, column: col };
}

/** sites[2].finess */
export function pathLabel(path: ConfigPath): string {
  let label = '';
  for (const segment of path) label += typeof segment === 'number' ? `[${segment}]` : label ? `.${segment}` : segment;
  return label || '(file)';
}
