import type { AuditEntity } from '../../../audit/audit-event.ts';
import { noteAudit } from '../../account/audit-middleware.ts';
import type { Request, RequestHandler, Response } from 'express';
import type { AccessScope } from '../../../storage/index/dicom-index.ts';
import { dicomwebRootOf } from '../../http/dicomweb-root.ts';
import type { AccessScopeResolver } from '../retrieve/access-scope.ts';
import { chooseMetadataRepresentation } from '../retrieve/representation.ts';
import { parseQidoQuery } from './qido-query.ts';
import type { QidoQuery, QidoResult, QueryLevel } from '../../../core/query/qido-types.ts';

export type QidoSearch = (query: QidoQuery, scope: AccessScope, dicomwebRoot: string) => Promise<QidoResult>;

/**
 * QIDO-RS (PS3.18 10.6): a search at one level (study, series, instance), within the study and series of the
 * URL when it names them. The route table (gateway/app/route-table.ts) mounts it at every level of the hierarchy.
 */
export function qidoHandler(level: QueryLevel, search: QidoSearch, accessScope: AccessScopeResolver): RequestHandler {
  return (req, res) => answer(req, res, level, search, accessScope);
}

async function answer(req: Request, res: Response, level: QueryLevel, search: QidoSearch, accessScope: AccessScopeResolver): Promise<void> {
  const scope = accessScope(res);
  chooseMetadataRepresentation(req.get('accept'));
  const query = parseQidoQuery(level, new URLSearchParams(req.originalUrl.split('?')[1] ?? ''), {
    studyInstanceUID: req.params.study as string | undefined,
    seriesInstanceUID: req.params.series as string | undefined,
  });
  const result = await search(query, scope, dicomwebRootOf(req));
  if (result.truncated) {
    res.set(
      'Warning',
      `299 ${req.get('host') ?? 'astreinte'}: "The number of results exceeded the limit of ${query.limit}; ask for the next page with offset=${query.offset + query.limit}."`,
    );
  }
  noteAudit(res, { entities: returnedEntities(result.matches) });
  res.status(200).type('application/dicom+json').send(JSON.stringify(result.matches));
}

type Match = Record<string, { Value?: unknown[] } | undefined>;

/**
 * Which patients a search returned, by reference (Patient ID and issuer), for the audit trail; a match without
 * Patient ID (a series or instance search that did not ask for it) is named by its study.
 */
function returnedEntities(matches: readonly unknown[]): AuditEntity[] {
  const patients = new Map<string, AuditEntity>();
  const studies = new Set<string>();
  for (const match of matches as Match[]) {
    const first = (tag: string) => {
      const value = match[tag]?.Value?.[0];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const patientId = first('00100020');
    const issuer = first('00100021');
    if (patientId) patients.set(`${issuer ?? ''}|${patientId}`, { kind: 'patient', patientId, ...(issuer ? { issuer } : {}) });
    else {
      const study = first('0020000D');
      if (study) studies.add(study);
    }
  }
  return [...patients.values(), ...[...studies].map((studyUid): AuditEntity => ({ kind: 'study', studyUid }))];
}
