/**
 * Structural checks of a FHIR R4 AuditEvent (the cardinalities and primitive formats of the R4 resource,
 * https://hl7.org/fhir/R4/auditevent.html), for tests: returns the problems found, [] when none.
 */
const INSTANT = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const BASE64 = /^(\s*([0-9a-zA-Z+/=]){4}\s*)+$/;
const URI = /^\S+$/;

type Json = Record<string, unknown>;

export function auditEventProblems(resource: unknown): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const r = resource as Json;
  need(typeof r === 'object' && r !== null, 'not an object');
  if (problems.length) return problems;
  need(r.resourceType === 'AuditEvent', 'resourceType must be AuditEvent');
  if (r.id !== undefined) need(typeof r.id === 'string' && ID.test(r.id), 'id format');
  need(isCoding(r.type), 'type (1..1 Coding) with system and code');
  if (r.subtype !== undefined) need(Array.isArray(r.subtype) && r.subtype.every(isCoding), 'subtype: Coding[]');
  if (r.action !== undefined) need(['C', 'R', 'U', 'D', 'E'].includes(r.action as string), 'action in C R U D E');
  need(typeof r.recorded === 'string' && INSTANT.test(r.recorded), 'recorded (1..1 instant)');
  if (r.outcome !== undefined) need(['0', '4', '8', '12'].includes(r.outcome as string), 'outcome in 0 4 8 12');
  if (r.outcomeDesc !== undefined) need(typeof r.outcomeDesc === 'string', 'outcomeDesc string');
  need(Array.isArray(r.agent) && r.agent.length > 0, 'agent (1..*)');
  for (const [i, a] of ((r.agent as Json[]) ?? []).entries()) {
    need(typeof a.requestor === 'boolean', `agent[${i}].requestor (1..1 boolean)`);
    if (a.who !== undefined) need(isReference(a.who), `agent[${i}].who Reference`);
    if (a.location !== undefined) need(isReference(a.location), `agent[${i}].location Reference`);
    if (a.policy !== undefined) need(Array.isArray(a.policy) && a.policy.every((p) => typeof p === 'string' && URI.test(p)), `agent[${i}].policy uri[]`);
    if (a.network !== undefined) {
      const n = a.network as Json;
      need(typeof n.address === 'string' && ['1', '2', '3', '4', '5'].includes(n.type as string), `agent[${i}].network`);
    }
    if (a.role !== undefined) need(Array.isArray(a.role) && (a.role as Json[]).every((c) => Array.isArray(c.coding) && c.coding.every(isCoding)), `agent[${i}].role CodeableConcept[]`);
    if (a.extension !== undefined) need(areExtensions(a.extension), `agent[${i}].extension`);
  }
  const source = r.source as Json | undefined;
  need(typeof source === 'object' && source !== null, 'source (1..1)');
  if (source) {
    need(isReference(source.observer), 'source.observer (1..1 Reference)');
    if (source.type !== undefined) need(Array.isArray(source.type) && source.type.every(isCoding), 'source.type Coding[]');
  }
  if (r.entity !== undefined) {
    need(Array.isArray(r.entity) && r.entity.length > 0, 'entity: a non-empty array when present');
    for (const [i, e] of ((r.entity as Json[]) ?? []).entries()) {
      if (e.what !== undefined) need(isReference(e.what), `entity[${i}].what Reference`);
      if (e.type !== undefined) need(isCoding(e.type), `entity[${i}].type Coding`);
      if (e.role !== undefined) need(isCoding(e.role), `entity[${i}].role Coding`);
      if (e.query !== undefined) need(typeof e.query === 'string' && BASE64.test(e.query), `entity[${i}].query base64Binary`);
      if (e.detail !== undefined) {
        need(
          Array.isArray(e.detail) && (e.detail as Json[]).every((d) => typeof d.type === 'string' && (typeof d.valueString === 'string') !== (typeof d.valueBase64Binary === 'string')),
          `entity[${i}].detail: type and exactly one value[x]`,
        );
      }
    }
  }
  if (r.extension !== undefined) need(areExtensions(r.extension), 'extension');
  need(!containsEmpty(r), 'no empty strings, arrays, objects or nulls (FHIR JSON forbids them)');
  return problems;
}

function isCoding(value: unknown): boolean {
  const c = value as Json;
  return typeof c === 'object' && c !== null && typeof c.code === 'string' && c.code !== '' && (c.system === undefined || (typeof c.system === 'string' && URI.test(c.system)));
}

function isReference(value: unknown): boolean {
  const r = value as Json;
  if (typeof r !== 'object' || r === null) return false;
  if (r.identifier !== undefined) {
    const id = r.identifier as Json;
    if (typeof id.value !== 'string' || (id.system !== undefined && !(typeof id.system === 'string' && URI.test(id.system)))) return false;
  }
  return r.identifier !== undefined || typeof r.display === 'string' || typeof r.reference === 'string';
}

function areExtensions(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every((x: Json) => {
      const values = Object.keys(x).filter((k) => k.startsWith('value'));
      const nested = x.extension !== undefined;
      return typeof x.url === 'string' && URI.test(x.url) && (nested ? values.length === 0 && areExtensions(x.extension) : values.length === 1);
    })
  );
}

function containsEmpty(value: unknown): boolean {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0 || value.some(containsEmpty);
  if (typeof value === 'object') return Object.keys(value).length === 0 || Object.values(value).some(containsEmpty);
  return false;
}
