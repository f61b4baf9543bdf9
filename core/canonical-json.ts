/**
 * A canonical JSON text: object keys sorted (by UTF-16 code units), no whitespace, undefined members dropped,
 * strings and integers written by JSON.stringify. The same value always gives the same text, and so does the
 * value read back from a PostgreSQL jsonb column (which reorders keys but keeps strings and integers): that is
 * what lets the verifier recompute an event's hash from the stored row.
 */
export type CanonicalValue = string | number | boolean | null | CanonicalValue[] | { [key: string]: CanonicalValue | undefined };

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      // Only integers round-trip through jsonb digit for digit.
      if (!Number.isSafeInteger(value)) throw new TypeError('canonical JSON holds safe integers only');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
      const members = Object.keys(value)
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}
