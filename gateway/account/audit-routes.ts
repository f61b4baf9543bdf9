import { Router } from 'express';
import type { AuditDescribe, RequestAuditor } from './audit-middleware.ts';
import type { AuditEntity } from '../../audit/audit-event.ts';
import { redactedQuery } from '../../audit/redact-query.ts';
import { DICOMWEB_PATH } from '../http/dicomweb-root.ts';

/**
 * Which audit event (DICOM/IHE ATNA code) each route records, one per request, written once the response is
 * over. Handlers add what they learn while working (studies stored, patients) with noteAudit(). Changes of
 * worklist state are also kept, in the same transaction, in worklist_event.
 */
export function auditRoutes(auditor: RequestAuditor): Router {
  const router = Router();
  const dicomweb = (path: string) => `${DICOMWEB_PATH}${path}`;
  const study = '/studies/:study';
  const series = `${study}/series/:series`;
  const instance = `${series}/instances/:instance`;

  router.post([dicomweb('/studies'), dicomweb(study)], auditor.audit(stow));
  router.get(
    ['/studies', '/series', '/instances', `${study}/series`, `${study}/instances`, `${series}/instances`].map(dicomweb),
    auditor.audit(query('qido', 'dicomweb')),
  );
  router.get([study, series, instance].map((p) => dicomweb(`${p}/metadata`)), auditor.audit(read('110103', 'wado-metadata')));
  router.get([study, series, instance].map(dicomweb), auditor.audit(read('110104', 'wado-retrieve')));
  router.get(dicomweb(`${instance}/frames/:frames`), auditor.audit(read('110104', 'wado-frames')));
  router.get(dicomweb(`${instance}/bulkdata/*path`), auditor.audit(read('110104', 'wado-bulkdata')));

  router.get('/api/worklist', auditor.audit(query('worklist', 'worklist')));
  router.get('/api/worklist/events', auditor.audit(() => ({ type: '110112', subtype: 'worklist-events', action: 'E' })));
  router.get('/api/worklist/:id', auditor.audit(item('R', 'worklist-item')));
  router.post('/api/worklist/:id/:action', auditor.audit((req, res, ctx) => item('U', `worklist-${String(ctx.params.action)}`)(req, res, ctx)));
  router.get('/api/worklist/:id/report', auditor.audit(item('R', 'report-draft')));
  router.post('/api/worklist/:id/report/sign', auditor.audit(item('C', 'report-signed')));
  router.post('/api/reports/:id/addenda', auditor.audit(report('C', 'report-addendum')));
  router.get('/api/reports/:id', auditor.audit(report('R', 'report-read')));
  router.get('/api/indicators', auditor.audit(query('indicators', 'indicators')));
  router.get('/api/keys', auditor.audit(() => ({ type: '110112', subtype: 'report-keys', action: 'E' })));
  router.post('/api/studies/:study/complete', auditor.audit(studyEvent('110111', 'U', 'study-complete')));
  router.get('/api/studies/:study/routing', auditor.audit(studyEvent('110111', 'R', 'routing-explanation')));
  router.post('/api/oppositions', auditor.audit(() => ({ type: '110110', subtype: 'opposition-recorded', action: 'C' })));
  router.delete('/api/oppositions/:issuer/:patientId', auditor.audit(opposition));
  return router;
}

const stow: AuditDescribe = (_req, _res, ctx) => ({
  type: '110104',
  subtype: 'stow',
  action: 'C',
  entities: ctx.params.study ? [{ kind: 'study', studyUid: String(ctx.params.study) }] : [],
});

function query(subtype: string, level: string): AuditDescribe {
  return (req) => ({ type: '110112', subtype, action: 'E', entities: [{ kind: 'query', query: redactedQuery(req.originalUrl), level }] });
}

function read(type: '110103' | '110104', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type, subtype, action: 'R', entities: [studyEntity(ctx.params)] });
}

function report(action: 'C' | 'R', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type: '110111', subtype, action, entities: [{ kind: 'record', recordType: 'report', id: String(ctx.params.id) }] });
}

function item(action: 'C' | 'R' | 'U', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type: '110111', subtype, action, entities: [{ kind: 'worklist-item', itemId: String(ctx.params.id) }] });
}

function studyEvent(type: '110111', action: 'R' | 'U', subtype: string): AuditDescribe {
  return (_req, _res, ctx) => ({ type, subtype, action, entities: [{ kind: 'study', studyUid: String(ctx.params.study) }] });
}

const opposition: AuditDescribe = (_req, _res, ctx) => ({
  type: '110110',
  subtype: 'opposition-lifted',
  action: 'D',
  entities: [{ kind: 'patient', patientId: String(ctx.params.patientId), issuer: String(ctx.params.issuer) }],
});

function studyEntity(params: Record<string, unknown>): AuditEntity {
  const entity: AuditEntity = { kind: 'study', studyUid: String(params.study) };
  if (params.series) entity.seriesUids = [String(params.series)];
  if (params.instance) entity.sopInstanceUids = [String(params.instance)];
  return entity;
}
