/**
 * The query text kept in a Query (110112) event: the request path and its parameters as sent, except the
 * values of attributes that describe the person rather than identify the record (name, birth date, address,
 * ...), replaced by `(redacted)`. Identifiers (PatientID, IssuerOfPatientID, UIDs, AccessionNumber) stay: the
 * trail exists to say who looked for which patient, and it says so by id. The parameter name stays too, so the
 * auditor knows a search by name happened; which name is deliberately lost (it would otherwise travel to the
 * SIEM export and its storage). What the search then opened is audited by id in the events of the following
 * WADO / metadata requests.
 */
export const REDACTED = '(redacted)';

/** Keywords and tags (PS3.6) whose values never enter the trail. */
const REDACTED_ATTRIBUTES = new Map<string, string>([
  ['patientname', '00100010'],
  ['patientbirthdate', '00100030'],
  ['patientbirthtime', '00100032'],
  ['otherpatientnames', '00101001'],
  ['patientbirthname', '00101005'],
  ['patientage', '00101010'],
  ['patientaddress', '00101040'],
  ['patientmotherbirthname', '00101060'],
  ['patienttelephonenumbers', '00102154'],
  ['responsibleperson', '00102297'],
  ['patientcomments', '00104000'],
]);
const REDACTED_KEYS = new Set([...REDACTED_ATTRIBUTES.keys(), ...REDACTED_ATTRIBUTES.values()]);

export interface RedactOptions {
  /** More parameter names to redact (case-insensitive), e.g. a free-text search parameter of the worklist API. */
  alsoRedact?: string[];
}

/** `url`: the request URL as received (req.originalUrl), path and query string. */
export function redactedQuery(url: string, options: RedactOptions = {}): string {
  const parsed = new URL(url, 'http://audit.invalid');
  const extra = new Set((options.alsoRedact ?? []).map((name) => name.toLowerCase()));
  const pairs: string[] = [];
  for (const [key, value] of parsed.searchParams) {
    const hidden = key
      .split('.')
      .some((part) => REDACTED_KEYS.has(part.toLowerCase()) || extra.has(part.toLowerCase()));
    pairs.push(`${encodeURIComponent(key)}=${hidden ? REDACTED : encodeURIComponent(value)}`);
  }
  return pairs.length > 0 ? `${parsed.pathname}?${pairs.join('&')}` : parsed.pathname;
}
