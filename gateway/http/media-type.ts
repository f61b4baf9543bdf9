/**
 * Parsing and formatting of media types with parameters (RFC 9110 8.3.1, 5.6.6), tolerant where real
 * DICOMweb clients are not strict: Cornerstone sends `type=application/octet-stream` unquoted although `/`
 * is not a token character, so an unquoted value runs to the next `;`, `,` or white space.
 */

export interface MediaType {
  /** `type/subtype`, lower-cased. */
  essence: string;
  /** Parameters in order, names lower-cased, values unquoted (case kept: callers decide). */
  params: Map<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Splits a comma-separated header value (Accept, ...) into its elements, ignoring commas inside quotes. */
export function splitHeaderList(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  let inQuotes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === ',') {
      items.push(value.slice(start, i));
      start = i + 1;
    }
  }
  items.push(value.slice(start));
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Parses `type/subtype; name=value; name="quoted value"`. Returns null when the text is not a media type
 * (no slash, characters outside tokens, unterminated quote). Empty parameters (`;;`) are skipped; a
 * parameter without `=` makes the whole media type invalid. When a name repeats, the first value wins.
 */
export function parseMediaType(text: string): MediaType | null {
  const semi = indexOfUnquoted(text, ';');
  const essence = (semi === -1 ? text : text.slice(0, semi)).trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0 || !TOKEN.test(essence.slice(0, slash)) || !TOKEN.test(essence.slice(slash + 1))) return null;
  const params = new Map<string, string>();
  let i = semi === -1 ? text.length : semi;
  while (i < text.length) {
    i++; // past ';'
    i = skipSpaces(text, i);
    if (i >= text.length) break;
    if (text[i] === ';') continue;
    const eq = text.indexOf('=', i);
    if (eq === -1) return null;
    const name = text.slice(i, eq).trim().toLowerCase();
    if (!TOKEN.test(name)) return null;
    i = skipSpaces(text, eq + 1);
    let value: string;
    if (text[i] === '"') {
      const quoted = readQuoted(text, i);
      if (quoted === null) return null;
      value = quoted.value;
      i = skipSpaces(text, quoted.end);
      if (i < text.length && text[i] !== ';') return null;
    } else {
      const end = indexOfUnquoted(text, ';', i);
      value = text.slice(i, end === -1 ? text.length : end).trim();
      if (/[\s",]/.test(value)) return null;
      i = end === -1 ? text.length : end;
    }
    if (!params.has(name)) params.set(name, value);
  }
  return { essence, params };
}

/** Formats a media type, quoting parameter values that are not tokens (e.g. `type="application/dicom"`). */
export function formatMediaType(essence: string, params: Record<string, string | undefined> = {}): string {
  let out = essence;
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    out += `; ${name}=${TOKEN.test(value) ? value : `"${value.replace(/(["\\])/g, '\\$1')}"`}`;
  }
  return out;
}

function skipSpaces(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  return i;
}

function indexOfUnquoted(text: string, char: string, from = 0): number {
  let inQuotes = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '\\') i++;
      else if (c === '"') inQuotes = false;
    } else if (c === '"') inQuotes = true;
    else if (c === char) return i;
  }
  return -1;
}

function readQuoted(text: string, start: number): { value: string; end: number } | null {
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) value += text[++i];
    else if (c === '"') return { value, end: i + 1 };
    else value += c;
  }
  return null;
}
