/**
 * Reads the region YAML file and returns the checked RegionConfig, or throws RegionConfigError listing every
 * problem with its line and column and what to write instead.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { buildRegionConfig } from './build-region-config.ts';
import { crossCheckRegion } from './cross-checks.ts';
import type { RegionConfig } from './region-config.ts';
import { RegionConfigError, type RegionConfigProblem } from './region-config-error.ts';
import { regionFileSchema } from './region-schema.ts';
import { locate, pathLabel, type ConfigPath } from './yaml-locator.ts';

export async function loadRegionConfig(file: string): Promise<RegionConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the file does not exist' : code === 'EISDIR' ? 'this is a directory' : (error as Error).message;
    throw new RegionConfigError(file, [
      { line: 1, column: 1, message: `cannot read the region configuration: ${why} (set ASTREINTE_CONFIG to the YAML file)` },
    ]);
  }
  return parseRegionConfig(text, file, path.resolve(file));
}

/** Parses YAML text; `name` is used in messages, `source` is recorded in the config (defaults to name). */
export function parseRegionConfig(text: string, name: string, source: string = name): RegionConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RegionConfigError(
      name,
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return { line, column: col, message: `YAML syntax: ${yamlMessage(e.code, e.message)}` };
      }),
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RegionConfigError(name, [
      { line: 1, column: 1, message: 'the file must be a YAML mapping with version, region, territories, sites, readers, pools, rotas, priorities, rules' },
    ]);
  }
  const parsed = regionFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RegionConfigError(name, sortProblems(parsed.error.issues.flatMap((issue) => zodProblems(issue, doc, lineCounter, raw))));
  }
  const problems = crossCheckRegion(parsed.data);
  if (problems.length > 0) {
    throw new RegionConfigError(
      name,
      sortProblems(
        problems.map((p) => {
          const { position } = locate(doc, lineCounter, p.path);
          return { ...position, message: `${pathLabel(p.path)}: ${p.message}` };
        }),
      ),
    );
  }
  return buildRegionConfig(parsed.data, source);
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'this key appears twice in the same mapping; keep one';
  if (code === 'TAB_AS_INDENT') return 'indent with spaces, not tabs';
  return message;
}

function zodProblems(issue: z.core.$ZodIssue, doc: Document, lineCounter: LineCounter, raw: object): RegionConfigProblem[] {
  const issuePath = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issuePath);
    return issue.keys.map((key) => {
      const { position } = locate(doc, lineCounter, issuePath, key);
      const guess = closest(key, known);
      return {
        ...position,
        message: `${pathLabel([...issuePath, key])}: unknown key "${key}"${guess ? `; did you mean "${guess}"?` : known.length > 0 ? `; allowed keys: ${known.join(', ')}` : ''}`,
      };
    });
  }
  const located = locate(doc, lineCounter, issuePath);
  const value = valueAt(raw, issuePath);
  const label = pathLabel(issuePath);
  let message = issue.message;
  if (value === undefined && issuePath.length > 0) {
    message = `is missing; it ${message}`;
  } else if (value === null) {
    message = `is empty; it ${message}`;
  } else if (typeof value === 'number' && located.sourceText !== undefined && located.sourceText !== String(value)) {
    message += ` (YAML read ${located.sourceText} as the number ${value}: put it in quotes, "${located.sourceText}")`;
  }
  return [{ ...located.position, message: `${label}: ${message}` }];
}

function valueAt(root: unknown, p: ConfigPath): unknown {
  let node = root;
  for (const segment of p) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

type SchemaDef = {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  element?: { _zod: { def: SchemaDef } };
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
};

/** Keys the schema allows at `p`, for "did you mean" hints. */
function knownKeysAt(p: ConfigPath): string[] {
  let def: SchemaDef | undefined = (regionFileSchema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const unwrap = (d: SchemaDef | undefined): SchemaDef | undefined => {
    let current = d;
    while (current && (current.innerType || (current.type === 'pipe' && current.in))) {
      current = (current.innerType ?? current.in)?._zod.def;
    }
    return current;
  };
  for (const segment of p) {
    def = unwrap(def);
    if (!def) return [];
    if (typeof segment === 'number') def = def.element?._zod.def;
    else def = def.shape?.[segment]?._zod.def;
  }
  def = unwrap(def);
  return def?.shape ? Object.keys(def.shape) : [];
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

function sortProblems(problems: RegionConfigProblem[]): RegionConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}
