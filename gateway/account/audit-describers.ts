import type { AuditDescribe } from './audit-middleware.ts';
import type { AuditEntity } from '../../audit/audit-event.ts';
import { redactedQuery } from '../../audit/redact-query.ts';

/**
 * What audit event (DICOM/IHE ATNA code) a route records, one per request, written once the response is over.
 * Each entry of the route table (gateway/app/route-table.ts) names one of these. Handlers add what they learn
 * while working (studies stored, patients) with noteAudit(). Changes of worklist state are also kept, in the
 * same transaction, in worklist_event.
 */

/** STOW-RS (110104, C): the study of the URL, if any; the handler notes the studies and patients stored. */
export const stowEvent: AuditDescribe = (_req, _res, ctx) => ({
  type: '110104',
  subtype: 'stow',
  action: 'C',
  entities: ctx.params.study ? [{ kind: 'study', studyUid: String(ctx.params.study) }] : [],
});

/** A search or a listing (110112, E), with the query's identifying values redacted. */
export function queryEvent(subtype: string, level: string): AuditDescribe {
  return (req) => ({ type: '110112', subtype, action: 'E', entities: [{ kind: 'query', query: redactedQuery(req.originalUrl), level }] });
}

/** Instances accessed (110103: metadata) or transferred (110104: instances, frames, bulk data) from the URL's study, series, instance. */
export function readEvent(type: '110103' | '110104', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type, subtype, action: 'R', entities: [studyEntity(ctx.params)] });
}

/** The live events of the caller's worklist items (110112, E). */
export const worklistEventsEvent: AuditDescribe = () => ({ type: '110112', subtype: 'worklist-events', action: 'E' });

/** A worklist item read or changed (110111), the item of the URL. */
export function itemEvent(action: 'C' | 'R' | 'U', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type: '110111', subtype, action, entities: [{ kind: 'worklist-item', itemId: String(ctx.params.id) }] });
}

/** A signed report read or added to (110111), the report of the URL. */
export function reportEvent(action: 'C' | 'R', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type: '110111', subtype, action, entities: [{ kind: 'record', recordType: 'report', id: String(ctx.params.id) }] });
}

/** A study's routing read or changed (110111), the study of the URL. */
export function studyEvent(action: 'R' | 'U', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type: '110111', subtype, action, entities: [{ kind: 'study', studyUid: String(ctx.params.study) }] });
}

/** Embedded default only: who picked which person of the regional configuration (the id only, no patient data). */
export const signInEvent: AuditDescribe = (req) => ({
  type: '110114',
  subtype: 'sign-in',
  action: 'E',
  outcomeDescription: `embedded sign-in as ${String((req.body as { id?: unknown } | undefined)?.id ?? '?').slice(0, 80)}`,
});

/** The patient named in the body of an objection request (never in the URL), by reference; none when the body lacks one. */
function bodyPatient(body: unknown): AuditEntity[] {
  const field = (name: string) =>
    body !== null && typeof body === 'object' && typeof (body as Record<string, unknown>)[name] === 'string'
      ? ((body as Record<string, unknown>)[name] as string).trim()
      : '';
  const patientId = field('patientId');
  const issuer = field('issuer');
  return patientId && issuer ? [{ kind: 'patient', patientId, issuer }] : [];
}

/** A patient's objection recorded (110110, C), naming the patient. */
export const oppositionRecordedEvent: AuditDescribe = (req) => ({ type: '110110', subtype: 'opposition-recorded', action: 'C', entities: bodyPatient(req.body) });

/** A patient's objection lifted (110110, D), naming the patient; a body without both values was refused with a 400. */
export const oppositionLiftedEvent: AuditDescribe = (req) => ({ type: '110110', subtype: 'opposition-lifted', action: 'D', entities: bodyPatient(req.body) });

function studyEntity(params: Record<string, unknown>): AuditEntity {
  const entity: AuditEntity = { kind: 'study', studyUid: String(params.study) };
  if (params.series) entity.seriesUids = [String(params.series)];
  if (params.instance) entity.sopInstanceUids = [String(params.instance)];
  return entity;
}

/** "Send this study to AE X" requested (110106 Export, C): the study of the URL, the peer of the body. */
export const studyExportEvent: AuditDescribe = (req, _res, ctx) => {
  const peer = (req.body as { peer?: unknown } | undefined)?.peer;
  return {
    type: '110106',
    subtype: 'study-send-requested',
    action: 'C',
    entities: [
      { kind: 'study', studyUid: String(ctx.params.study) },
      ...(typeof peer === 'string' && peer.length > 0 ? [{ kind: 'record' as const, recordType: 'dicom-peer', id: peer.slice(0, 64) }] : []),
    ],
  };
};

/** The sends of a study (the study of the URL) or one send (its id) read (110106 Export, R). */
export function studySendReadEvent(of: 'study' | 'send'): AuditDescribe {
  return (_req, _res, ctx) => ({
    type: '110106',
    subtype: 'study-send-read',
    action: 'R',
    entities: [of === 'study' ? { kind: 'study', studyUid: String(ctx.params.study) } : { kind: 'record', recordType: 'study-send', id: String(ctx.params.id) }],
  });
}
