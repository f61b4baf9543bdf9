import { describeUidProblem } from '../../../core/dicom/uid.ts';
import { normalizeTag, tagForKeyword } from '../../../core/dicom/dicom-dictionary.ts';
import { BadRequest } from '../../http/problem.ts';
import {
  findMatchingKey,
  isKeyValidAt,
  MATCHING_KEYS,
  type MatchingKeyDefinition,
} from '../../../core/query/qido-attributes.ts';
import { isDicomDate, timeBounds } from '../../../storage/index/dicom-values.ts';
import type { MatchKey, QidoQuery, QueryLevel } from '../../../core/query/qido-types.ts';

/** Results per page when the client gives no limit. */
export const DEFAULT_QIDO_LIMIT = 1000;
/** Largest page; a larger limit is lowered to it and the response says it was truncated. */
export const MAX_QIDO_LIMIT = 10_000;

/**
 * Longest matching value but a list of UIDs. PS3.5 bounds every value a key here can match: a Person Name is at most
 * three groups of 64 characters, texts 64, codes 16; with wildcards a meaningful pattern is no longer. Longer
 * values only cost CPU (name folding, LIKE patterns), so they are refused.
 */
export const MAX_MATCH_VALUE_LENGTH = 256;

const LEVEL_PATH: Record<QueryLevel, string> = { study: '/studies', series: '/series', instance: '/instances' };

/**
 * Parses and validates the query parameters of a QIDO-RS request (PS3.18 8.3.4, 10.6). Every problem is a
 * 400 that names the parameter and says what to send instead.
 *
 * - Matching keys by keyword (PatientName, case-insensitive) or tag (00100010); see MATCHING_KEYS.
 * - Empty value or `*`: universal matching (the attribute is returned, nothing is filtered).
 * - `*` and `?` wildcards for names, texts and codes; `A-B`, `-B`, `A-` ranges for dates and times;
 *   lists separated by `\` or `,` for UIDs, codes (e.g. ModalitiesInStudy=CT\MR) and integers.
 * - fuzzymatching=true|false, includefield (repeated and/or comma-separated; tags, keywords or `all`),
 *   limit (1 to 10000, default 1000; more is lowered to 10000) and offset (default 0).
 */
export function parseQidoQuery(
  level: QueryLevel,
  params: URLSearchParams,
  path: { studyInstanceUID?: string; seriesInstanceUID?: string },
): QidoQuery {
  const query: QidoQuery = {
    level,
    studyInstanceUID: path.studyInstanceUID === undefined ? undefined : checkPathUid('Study', path.studyInstanceUID),
    seriesInstanceUID: path.seriesInstanceUID === undefined ? undefined : checkPathUid('Series', path.seriesInstanceUID),
    keys: [],
    fuzzyMatching: false,
    includeFields: [],
    limit: DEFAULT_QIDO_LIMIT,
    offset: 0,
  };
  const seen = new Set<string>();
  const includeFields = new Set<string>();
  let includeAll = false;
  for (const [name, value] of params) {
    switch (name.toLowerCase()) {
      case 'fuzzymatching':
        once(seen, 'fuzzymatching', name);
        query.fuzzyMatching = parseBoolean(name, value);
        break;
      case 'includefield':
        for (const field of value.split(',').map((f) => f.trim())) {
          if (field.toLowerCase() === 'all') includeAll = true;
          else includeFields.add(resolveIncludeField(name, field));
        }
        break;
      case 'limit':
        once(seen, 'limit', name);
        query.limit = Math.min(parseCount(name, value, 1), MAX_QIDO_LIMIT);
        break;
      case 'offset':
        once(seen, 'offset', name);
        query.offset = parseCount(name, value, 0);
        break;
      default: {
        const key = resolveMatchingKey(level, name);
        once(seen, key.tag, name);
        query.keys.push(parseMatchKey(key, name, value));
      }
    }
  }
  query.includeFields = includeAll ? 'all' : [...includeFields];
  return query;
}

function resolveMatchingKey(level: QueryLevel, name: string): MatchingKeyDefinition {
  const key = findMatchingKey(name);
  if (!key) {
    const tag = normalizeTag(name) ?? tagForKeyword(name);
    const supported = MATCHING_KEYS.filter((k) => isKeyValidAt(k, level))
      .map((k) => k.keyword)
      .join(', ');
    throw new BadRequest(
      tag
        ? `Query parameter "${name}" is not a supported matching key. To get this attribute back, use includefield=${name}. ` +
            `Matching keys at ${LEVEL_PATH[level]}: ${supported}.`
        : `Unknown query parameter "${name}": it is neither a DICOM keyword or tag nor one of fuzzymatching, ` +
            `includefield, limit, offset. Matching keys at ${LEVEL_PATH[level]}: ${supported}.`,
      'invalid-query-parameter',
    );
  }
  if (!isKeyValidAt(key, level)) {
    throw new BadRequest(
      `Query parameter "${name}" is ${key.level === 'instance' ? 'an' : 'a'} ${key.level}-level key and cannot be used to search ${LEVEL_PATH[level]}; ` +
        `search the ${key.level === 'series' ? 'series' : 'instances'} instead.`,
      'invalid-query-parameter',
    );
  }
  return key;
}

function parseMatchKey(key: MatchingKeyDefinition, name: string, raw: string): MatchKey {
  const value = raw.trim();
  const tag = key.tag;
  if (value === '' || value === '*') return { kind: 'universal', tag };
  // Values of patient attributes (group 0010) are patient data: named, never echoed.
  const shown = tag.startsWith('0010') ? name : `${name}=${JSON.stringify(raw)}`;
  const bad = (what: string): never => {
    throw new BadRequest(`Query parameter ${shown}: ${what}`, 'invalid-query-parameter');
  };
  if (key.rule !== 'uid' && value.length > MAX_MATCH_VALUE_LENGTH) {
    bad(`the value is ${value.length} characters long; at most ${MAX_MATCH_VALUE_LENGTH} are accepted (PS3.5 bounds these values).`);
  }
  switch (key.rule) {
    case 'uid': {
      const values = splitList(value);
      for (const uid of values) {
        const problem = describeUidProblem(uid);
        if (problem) bad(`"${uid}" is not a valid UID (${problem}).`);
      }
      return values.length === 1 ? { kind: 'single', tag, value: values[0] } : { kind: 'list', tag, values };
    }
    case 'date':
      return parseRange(tag, value, (d) => isDicomDate(d), bad, 'a date YYYYMMDD or a range YYYYMMDD-YYYYMMDD, -YYYYMMDD, YYYYMMDD-');
    case 'time':
      return parseRange(tag, value, (t) => timeBounds(t) !== undefined, bad, 'a time HHMMSS[.FFFFFF] (or HH, HHMM) or a range of them with "-"');
    case 'integer': {
      const values = splitList(value);
      for (const v of values) if (!/^[+-]?\d{1,10}$/.test(v) || Math.abs(Number(v)) > 2147483647) bad(`"${v}" is not an integer.`);
      const normalized = values.map((v) => String(Number(v)));
      return normalized.length === 1 ? { kind: 'single', tag, value: normalized[0] } : { kind: 'list', tag, values: normalized };
    }
    case 'code': {
      if (hasWildcard(value)) return { kind: 'wildcard', tag, pattern: value.toUpperCase() };
      const values = splitList(value.toUpperCase());
      return values.length === 1 ? { kind: 'single', tag, value: values[0] } : { kind: 'list', tag, values };
    }
    case 'person-name':
    case 'text':
      return hasWildcard(value) ? { kind: 'wildcard', tag, pattern: value } : { kind: 'single', tag, value };
  }
}

function parseRange(
  tag: string,
  value: string,
  valid: (v: string) => boolean,
  bad: (what: string) => never,
  expected: string,
): MatchKey {
  const parts = value.split('-');
  if (parts.length === 1) {
    if (!valid(value)) bad(`expected ${expected}.`);
    return { kind: 'single', tag, value };
  }
  if (parts.length !== 2 || (parts[0] === '' && parts[1] === '')) bad(`expected ${expected}.`);
  const [from, to] = parts.map((p) => p.trim());
  if ((from !== '' && !valid(from)) || (to !== '' && !valid(to))) bad(`expected ${expected}.`);
  if (from !== '' && to !== '' && from > to) bad(`the range starts after it ends.`);
  return { kind: 'range', tag, from: from || undefined, to: to || undefined };
}

function splitList(value: string): string[] {
  return value
    .split(/[\\,]/)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function hasWildcard(value: string): boolean {
  return value.includes('*') || value.includes('?');
}

function resolveIncludeField(name: string, field: string): string {
  const tag = normalizeTag(field) ?? tagForKeyword(field) ?? findMatchingKey(field)?.tag;
  if (!tag) {
    throw new BadRequest(
      `Query parameter ${name}=${JSON.stringify(field)}: not a DICOM keyword (e.g. SliceThickness), a tag ` +
        '(e.g. 00180050) or "all".',
      'invalid-query-parameter',
    );
  }
  return tag;
}

function parseBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new BadRequest(`Query parameter ${name}=${JSON.stringify(value)}: expected true or false.`, 'invalid-query-parameter');
}

function parseCount(name: string, value: string, min: number): number {
  const v = value.trim();
  if (!/^\d{1,9}$/.test(v) || Number(v) < min) {
    throw new BadRequest(
      `Query parameter ${name}=${JSON.stringify(value)}: expected an integer from ${min}` +
        (name.toLowerCase() === 'limit' ? ` (at most ${MAX_QIDO_LIMIT} results are returned per request).` : '.'),
      'invalid-query-parameter',
    );
  }
  return Number(v);
}

function once(seen: Set<string>, id: string, name: string): void {
  if (seen.has(id)) {
    throw new BadRequest(
      `Query parameter "${name}" is given twice; give it once (a list of UIDs or codes is separated by "\\" or ",").`,
      'invalid-query-parameter',
    );
  }
  seen.add(id);
}

function checkPathUid(which: 'Study' | 'Series', uid: string): string {
  const problem = describeUidProblem(uid);
  if (problem) {
    throw new BadRequest(`The ${which} Instance UID "${uid}" in the URL is not a valid UID: ${problem}.`, 'invalid-uid');
  }
  return uid;
}
