/**
 * One audit event, coded as DICOM / IHE ATNA audit messages are (PS3.15 A.5, event codes of the DCM
 * vocabulary): what kind of event (type + our subtype), the action, its outcome, who did it from where,
 * what it touched and when. `buildAuditEvent` turns a caller's input into the stored form: validated, with
 * undefined fields dropped, long lists capped, strings made safe for JSON and PostgreSQL.
 *
 * What the trail keeps about patients: identifiers only (patient id + issuer, study/series/instance UIDs,
 * worklist item ids). Names and birth dates are never stored, including in query text (see redact-query.ts).
 */
import type { Principal, Role } from '../core/identity/roles.ts';

/** DICOM audit event ids (DCM code system), PS3.16 CID 400. */
export const AUDIT_EVENT_TYPES = {
  '110100': 'Application Activity',
  '110101': 'Audit Log Used',
  '110102': 'Begin Transferring DICOM Instances',
  '110103': 'DICOM Instances Accessed',
  '110104': 'DICOM Instances Transferred',
  '110105': 'DICOM Study Deleted',
  '110106': 'Export',
  '110107': 'Import',
  '110108': 'Network Entry',
  '110109': 'Order Record',
  '110110': 'Patient Record',
  '110111': 'Procedure Record',
  '110112': 'Query',
  '110113': 'Security Alert',
  '110114': 'User Authentication',
} as const;

export type AuditEventCode = keyof typeof AUDIT_EVENT_TYPES;

/** Named constants for the codes, for readable call sites: `AuditCode.instancesAccessed`. */
export const AuditCode = {
  applicationActivity: '110100',
  auditLogUsed: '110101',
  beginTransferring: '110102',
  instancesAccessed: '110103',
  instancesTransferred: '110104',
  studyDeleted: '110105',
  export: '110106',
  import: '110107',
  networkEntry: '110108',
  orderRecord: '110109',
  patientRecord: '110110',
  procedureRecord: '110111',
  query: '110112',
  securityAlert: '110113',
  userAuthentication: '110114',
} as const satisfies Record<string, AuditEventCode>;

/** Create, Read, Update, Delete, Execute (ATNA EventActionCode, FHIR AuditEvent.action). */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

/** 0 success, 4 minor failure, 8 serious failure, 12 major failure (ATNA EventOutcomeIndicator). */
export type AuditOutcome = 0 | 4 | 8 | 12;

export const AUDIT_ACTIONS: readonly AuditAction[] = ['C', 'R', 'U', 'D', 'E'];
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = [0, 4, 8, 12];

/** 'system' is the gateway or the worker acting on its own (routing, escalation, a CLI run by an operator). */
export type AuditActorRole = Role | 'system';

/** Who: the authenticated user, as the token described them. */
export interface AuditActor {
  /** Token subject (user or machine id at the issuer), or `system:<component>`, or 'anonymous'. */
  userId: string;
  role?: AuditActorRole;
  /** RPPS number of the health professional. */
  rpps?: string;
  /** FINESS of the user's establishment. */
  site?: string;
  territory?: string;
  /** The token's jti. */
  tokenId?: string;
}

/** From where: the client's network address (as express computes req.ip, honouring TRUST_PROXY). */
export interface AuditNetwork {
  address?: string;
  userAgent?: string;
}

/**
 * What the event touched (ATNA participant objects). Identifiers only: no names, no free text about patients.
 * - patient: the patient id and its issuer (an OID such as 1.2.250.1.213.1.4.8 for the INS-NIR, or the
 *   local Issuer of Patient ID text of the IPP).
 * - study: its UID and, when the request was narrower, the series / instances touched (lists capped at
 *   {@link MAX_UIDS_PER_LIST}; instanceCount keeps the real number).
 * - worklist-item: a worklist item id (UUID).
 * - query: the query as sent, with identifying values other than ids redacted (redactedQuery()).
 * - record: any other record by type and id: 'configuration', 'opposition', 'report', 'incident', ...;
 *   `description` must not contain patient data.
 */
export type AuditEntity =
  | { kind: 'patient'; patientId: string; issuer?: string }
  | { kind: 'study'; studyUid: string; seriesUids?: string[]; sopInstanceUids?: string[]; instanceCount?: number }
  | { kind: 'worklist-item'; itemId: string }
  | { kind: 'query'; query: string; level?: string }
  | { kind: 'record'; recordType: string; id: string; description?: string };

/** What a caller gives to record an event. */
export interface AuditEventInput {
  type: AuditEventCode;
  /** Our finer event kind: 'stow', 'wado-metadata', 'claim', 'sign', 'deliver', 'config-change', ... */
  subtype: string;
  action: AuditAction;
  /** Default 0 (success). */
  outcome?: AuditOutcome;
  /** Why it failed, or what was partial; for people, without patient data. */
  outcomeDescription?: string;
  actor: AuditActor;
  network?: AuditNetwork;
  entities?: AuditEntity[];
  /** Set by splitAuditInput only. */
  part?: { index: number; count: number };
}

/** The stored event (the hashed content). `v` is the format version of this structure. */
export interface AuditEvent {
  v: 1;
  type: AuditEventCode;
  subtype: string;
  action: AuditAction;
  outcome: AuditOutcome;
  outcomeDescription?: string;
  /** ISO 8601 UTC with milliseconds, from the Clock. */
  recorded: string;
  /** Which gateway / worker instance wrote the event (host name by default). */
  observer: string;
  actor: AuditActor;
  network?: AuditNetwork;
  entities: AuditEntity[];
  /** Fields whose value was longer than its maximum and was cut (e.g. `entities[0].patientId`). */
  truncated?: string[];
  /** One of several events carrying one request's entities (more than {@link MAX_ENTITIES}): 1-based. */
  part?: { index: number; count: number };
}

/** An event as read back from the trail. */
export interface RecordedAuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
  event: AuditEvent;
}

export const MAX_UIDS_PER_LIST = 100;
export const MAX_ENTITIES = 200;
const MAX_TEXT = 1024;
const MAX_QUERY = 4096;
const SUBTYPE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Invalid input; the message names the field, never its value (values may be patient identifiers). */
export class AuditEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditEventError';
  }
}

export function isAuditEventCode(value: unknown): value is AuditEventCode {
  return typeof value === 'string' && Object.hasOwn(AUDIT_EVENT_TYPES, value);
}

/** The actor of a request authenticated as `principal`. */
export function actorFromPrincipal(principal: Principal): AuditActor {
  return {
    userId: principal.userId,
    role: principal.role,
    rpps: principal.rpps,
    site: principal.site,
    territory: principal.territory,
    tokenId: principal.tokenId,
  };
}

/** The actor of work done by a component on its own (routing, escalation, an operator's CLI command). */
export function systemActor(component: string): AuditActor {
  return { userId: `system:${component}`, role: 'system' };
}

/** Validates and normalises `input` into the stored form. Throws AuditEventError. */
export function buildAuditEvent(input: AuditEventInput, recorded: Date, observer: string): AuditEvent {
  if (!isAuditEventCode(input.type)) throw new AuditEventError('type must be one of the DCM audit event codes 110100..110114');
  if (typeof input.subtype !== 'string' || !SUBTYPE.test(input.subtype)) {
    throw new AuditEventError('subtype must be 1-64 characters among a-z 0-9 . _ - (e.g. wado-metadata)');
  }
  if (!AUDIT_ACTIONS.includes(input.action)) throw new AuditEventError('action must be one of C, R, U, D, E');
  const outcome = input.outcome ?? 0;
  if (!AUDIT_OUTCOMES.includes(outcome)) throw new AuditEventError('outcome must be 0, 4, 8 or 12');
  if (!(recorded instanceof Date) || Number.isNaN(recorded.getTime())) throw new AuditEventError('the clock gave no valid time');
  const entities = input.entities ?? [];
  if (!Array.isArray(entities)) throw new AuditEventError('entities must be an array');
  if (entities.length > MAX_ENTITIES) throw new AuditEventError(`at most ${MAX_ENTITIES} entities per event (splitAuditInput splits)`);
  const cut: string[] = [];
  const optionalText = (value: unknown, field: string, max: number) => boundedText(value, field, max, cut);
  const requiredText = (value: unknown, field: string, max: number) => {
    const text = optionalText(value, field, max);
    if (text === undefined || text === '') throw new AuditEventError(`${field} is required`);
    return text;
  };
  const text: TextBounds = { optionalText, requiredText };
  const built = {
    v: 1 as const,
    type: input.type,
    subtype: input.subtype,
    action: input.action,
    outcome,
    outcomeDescription: optionalText(input.outcomeDescription, 'outcomeDescription', MAX_TEXT),
    recorded: recorded.toISOString(),
    observer: requiredText(observer, 'observer', 255),
    actor: buildActor(input.actor, text),
    network: input.network === undefined ? undefined : buildNetwork(input.network, text),
    entities: entities.map((entity, index) => buildEntity(entity, index, text)),
    part: input.part === undefined ? undefined : buildPart(input.part),
  };
  return dropUndefined({ ...built, truncated: cut.length > 0 ? cut : undefined });
}

/**
 * One request's event, split so that no entity is dropped: at most {@link MAX_ENTITIES} entities per event,
 * each part marked `part: { index, count }`; an input within the limit is returned as is.
 */
export function splitAuditInput(input: AuditEventInput): AuditEventInput[] {
  const entities = Array.isArray(input.entities) ? input.entities : [];
  if (entities.length <= MAX_ENTITIES) return [input];
  const count = Math.ceil(entities.length / MAX_ENTITIES);
  return Array.from({ length: count }, (_, i) => ({
    ...input,
    entities: entities.slice(i * MAX_ENTITIES, (i + 1) * MAX_ENTITIES),
    part: { index: i + 1, count },
  }));
}

function buildPart(part: { index: number; count: number }): { index: number; count: number } {
  const ok = Number.isSafeInteger(part?.index) && Number.isSafeInteger(part?.count) && part.index >= 1 && part.index <= part.count;
  if (!ok) throw new AuditEventError('part must be { index, count } with 1 <= index <= count');
  return { index: part.index, count: part.count };
}

interface TextBounds {
  optionalText(value: unknown, field: string, max: number): string | undefined;
  requiredText(value: unknown, field: string, max: number): string;
}

function buildActor(actor: AuditActor, { optionalText, requiredText }: TextBounds): AuditActor {
  if (typeof actor !== 'object' || actor === null) throw new AuditEventError('actor is required (at least userId)');
  return {
    userId: requiredText(actor.userId, 'actor.userId', 255),
    role: optionalText(actor.role, 'actor.role', 32) as AuditActorRole | undefined,
    rpps: optionalText(actor.rpps, 'actor.rpps', 32),
    site: optionalText(actor.site, 'actor.site', 32),
    territory: optionalText(actor.territory, 'actor.territory', 64),
    tokenId: optionalText(actor.tokenId, 'actor.tokenId', 255),
  };
}

function buildNetwork(network: AuditNetwork, { optionalText }: TextBounds): AuditNetwork | undefined {
  const built = {
    address: optionalText(network.address, 'network.address', 64),
    // A user agent is free text chosen by the client: keep it short.
    userAgent: optionalText(network.userAgent, 'network.userAgent', 256),
  };
  return built.address === undefined && built.userAgent === undefined ? undefined : built;
}

function buildEntity(entity: AuditEntity, index: number, text: TextBounds): AuditEntity {
  const { optionalText, requiredText } = text;
  const at = `entities[${index}]`;
  switch (entity?.kind) {
    case 'patient':
      return {
        kind: 'patient',
        patientId: requiredText(entity.patientId, `${at}.patientId`, 64),
        issuer: optionalText(entity.issuer, `${at}.issuer`, 128),
      };
    case 'study': {
      const sopInstanceUids = uidList(entity.sopInstanceUids, `${at}.sopInstanceUids`, requiredText);
      const count = entity.instanceCount ?? (entity.sopInstanceUids ? entity.sopInstanceUids.length : undefined);
      if (count !== undefined && (!Number.isSafeInteger(count) || count < 0)) {
        throw new AuditEventError(`${at}.instanceCount must be a non-negative integer`);
      }
      return {
        kind: 'study',
        studyUid: requiredText(entity.studyUid, `${at}.studyUid`, 64),
        seriesUids: uidList(entity.seriesUids, `${at}.seriesUids`, requiredText),
        sopInstanceUids,
        instanceCount: count,
      };
    }
    case 'worklist-item':
      return { kind: 'worklist-item', itemId: requiredText(entity.itemId, `${at}.itemId`, 64) };
    case 'query':
      return {
        kind: 'query',
        query: requiredText(entity.query, `${at}.query`, MAX_QUERY),
        level: optionalText(entity.level, `${at}.level`, 32),
      };
    case 'record':
      return {
        kind: 'record',
        recordType: requiredText(entity.recordType, `${at}.recordType`, 64),
        id: requiredText(entity.id, `${at}.id`, 255),
        description: optionalText(entity.description, `${at}.description`, MAX_TEXT),
      };
    default:
      throw new AuditEventError(`${at}.kind must be patient, study, worklist-item, query or record`);
  }
}

function uidList(list: string[] | undefined, field: string, requiredText: TextBounds['requiredText']): string[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new AuditEventError(`${field} must be an array of UIDs`);
  return list.slice(0, MAX_UIDS_PER_LIST).map((uid, i) => requiredText(uid, `${field}[${i}]`, 64));
}

/**
 * A string safe to store and to hash identically after a round trip through PostgreSQL jsonb: no NUL
 * (jsonb refuses it), no lone surrogate (not representable in UTF-8). A longer value than `max` is cut and its
 * field named in `cut` (the event's `truncated`): an event is never refused for what it says.
 */
function boundedText(value: unknown, field: string, max: number, cut: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new AuditEventError(`${field} must be a string`);
  let text = wellFormed(value).replace(/\u0000/g, '');
  if (text.length > max) {
    cut.push(field);
    text = wellFormed(text.slice(0, max));
  }
  return text;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

function dropUndefined<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
