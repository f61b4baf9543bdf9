/**
 * The report API (under /api, behind authenticate(); declared in the route table):
 *
 *   GET  /worklist/{id}/report         the item's draft (or a template's start, with the study's doses) and its signed report
 *   POST /worklist/{id}/report         save the draft as typed (the holder)
 *   POST /worklist/{id}/report/sign    sign it (the holder): SR and PDF in the study, the item COMPLETED, deliveries queued
 *   POST /reports/{id}/addenda         a correction: a new signed version linked to the original
 *   GET  /reports/{id}                 versions, signatures, objects, delivery status, step times
 *   GET  /keys                         the readers' public keys (JWKS)
 */
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { reportContentSchema, signingProblems, type ReportContent } from '../../core/report/report-content.ts';
import { startingContent, templateIdFor } from '../../core/report/report-templates.ts';
import { formatInstant } from '../../core/time/wall-time.ts';
import type { DeliveryRecord, SignedReportRecord } from '../../storage/report/report-store.ts';
import { principalOf } from '../auth/authenticate.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../http/problem.ts';
import { itemNotFound, loadVisibleItem } from '../read/worklist/find-visible-item.ts';
import { jsonBody, parseBody } from '../read/worklist/parse-body.ts';
import { canSeeItem } from '../../storage/worklist/item-visibility.ts';
import type { WorklistItemView } from '../../storage/worklist/worklist-types.ts';
import { holds, viewerOf, type Viewer } from '../read/worklist/worklist-viewer.ts';
import { signReport, type ReportSignerDeps } from './report-signer.ts';
import { loadStudySource } from './study-source.ts';

export type ReportRouteDeps = ReportSignerDeps & { adminSeesPatientData: boolean; poolAccessAfterCompletionMs?: number };

const draftBody = z.strictObject({ content: reportContentSchema, revision: z.number().int().positive().optional() });
const signBody = z.strictObject({ content: reportContentSchema.optional(), revision: z.number().int().positive().optional() });
const addendumBody = z.strictObject({
  content: reportContentSchema,
  reason: z.string().trim().min(1, { error: 'dites ce que corrige cet addendum' }).max(2000),
});

/** One handler per report route; the route table (gateway/app/route-table.ts) mounts them, each with its access and audit event. */
export interface ReportHandlers {
  draft: RequestHandler<{ id: string }>;
  saveDraft: RequestHandler<{ id: string }>[];
  sign: RequestHandler<{ id: string }>[];
  addendum: RequestHandler<{ id: string }>[];
  report: RequestHandler<{ id: string }>;
  keys: RequestHandler;
}

export function reportHandlers(deps: ReportRouteDeps): ReportHandlers {
  return {
    draft: (req, res) => draftHandler(deps, req, res),
    saveDraft: [jsonBody, (req, res) => saveDraftHandler(deps, req, res)],
    sign: [jsonBody, (req, res) => signHandler(deps, req, res)],
    addendum: [jsonBody, (req, res) => addendumHandler(deps, req, res)],
    report: (req, res) => reportHandler(deps, req, res),
    keys: (_req, res) => keysHandler(deps, res),
  };
}

type ReaderViewer = Extract<Viewer, { kind: 'reader' }>;

/** The item, which the caller must hold (claimed, in progress) to write its report. */
async function heldItem(deps: ReportRouteDeps, req: Request<{ id: string }>, res: Response, action: string): Promise<{ item: WorklistItemView; reader: ReaderViewer }> {
  const viewer = viewerOf(principalOf(res), deps);
  const item = await loadVisibleItem(deps.worklist, req.params.id, viewer);
  if (viewer.kind !== 'reader') throw new Forbidden(`Seul le radiologue qui lit l'examen peut ${action}.`, 'not-a-reader');
  if (item.status === 'COMPLETED') throw new Conflict("Le compte rendu de cet examen est déjà signé ; une correction se fait par un addendum (POST /api/reports/{id}/addenda).", 'already-signed');
  if (!holds(viewer, item)) throw new Forbidden(`Prenez l'examen (claim) avant de ${action} : seul le radiologue qui le tient peut le faire.`, 'not-holder');
  return { item, reader: viewer };
}

async function draftHandler(deps: ReportRouteDeps, req: Request<{ id: string }>, res: Response): Promise<void> {
  const viewer = viewerOf(principalOf(res), deps);
  const item = await loadVisibleItem(deps.worklist, req.params.id, viewer);
  const [draft, signed] = await Promise.all([deps.reports.draft(item.id), deps.reports.reportOfItem(item.id)]);
  if (holds(viewer, item)) await deps.reports.recordStep(deps.database, item.id, 'opened', deps.clock.now());
  let content = draft?.content;
  if (!content) {
    const study = await loadStudySource(deps.index, item.studyInstanceUID);
    content = startingContent(templateIdFor(item), study?.doses ?? []);
  }
  res.json({
    itemId: item.id,
    draft: { content, revision: draft?.revision ?? 0, updatedAt: draft ? formatInstant(draft.updatedAt, zoneOf(deps, item.territory)) : null, saved: draft !== null },
    signingProblems: signingProblems(content),
    reportId: signed?.id ?? null,
  });
}

async function saveDraftHandler(deps: ReportRouteDeps, req: Request<{ id: string }>, res: Response): Promise<void> {
  const body = parseBody(draftBody, req.body, 'enregistrer le brouillon');
  const { item, reader } = await heldItem(deps, req, res, 'écrire le compte rendu');
  const outcome = await deps.reports.saveDraft(item.id, reader.rpps, body.content, deps.clock.now(), body.revision);
  if ('conflict' in outcome) {
    throw new Conflict(
      `Le brouillon a été modifié ailleurs (version ${outcome.conflict.revision}, pas ${body.revision}) ; rechargez-le avant de continuer.`,
      'draft-conflict',
    );
  }
  const saved = outcome.saved;
  res.json({ itemId: item.id, revision: saved.revision, updatedAt: formatInstant(saved.updatedAt, zoneOf(deps, item.territory)), signingProblems: signingProblems(saved.content) });
}

async function signHandler(deps: ReportRouteDeps, req: Request<{ id: string }>, res: Response): Promise<void> {
  const body = parseBody(signBody, req.body, 'signer le compte rendu');
  const { item, reader } = await heldItem(deps, req, res, 'signer le compte rendu');
  let content: ReportContent | undefined = body.content;
  if (content) {
    // Refused before saving: a refused sign leaves the draft and its revision as the editor last saved them.
    refuseIncomplete(content);
    const saved = await deps.reports.saveDraft(item.id, reader.rpps, content, deps.clock.now(), body.revision);
    if ('conflict' in saved) throw new Conflict('Le brouillon a été modifié ailleurs ; rechargez-le, relisez-le, puis signez.', 'draft-conflict');
  } else {
    content = (await deps.reports.draft(item.id))?.content;
    if (!content) throw new BadRequest("Il n'y a pas de brouillon à signer : envoyez le compte rendu (content) ou enregistrez-le d'abord.", 'no-draft');
  }
  refuseIncomplete(content);
  const { report, deliveries } = await signReport(deps, { item, authorRpps: reader.rpps, content });
  res.status(201).json(reportJson(deps, [report], deliveries, { signed: report.signedAt }));
}

async function addendumHandler(deps: ReportRouteDeps, req: Request<{ id: string }>, res: Response): Promise<void> {
  const body = parseBody(addendumBody, req.body, 'signer un addendum');
  const viewer = viewerOf(principalOf(res), deps);
  const found = await deps.reports.signedReport(req.params.id);
  const original = found?.originalId ? await deps.reports.signedReport(found.originalId) : found;
  const item = original ? await deps.worklist.findItem(original.itemId) : null;
  if (!original || !item || !canSeeItem(viewer, item)) throw reportNotFound(req.params.id);
  if (viewer.kind !== 'reader') throw new Forbidden('Seul un radiologue peut signer un addendum.', 'not-a-reader');
  refuseIncomplete(body.content);
  const { report, deliveries } = await signReport(deps, { item, authorRpps: viewer.rpps, content: body.content, original, reason: body.reason });
  res.status(201).json(reportJson(deps, [report], deliveries, {}));
}

async function reportHandler(deps: ReportRouteDeps, req: Request<{ id: string }>, res: Response): Promise<void> {
  const principal = principalOf(res);
  if (principal.role === 'analyst' || (principal.role === 'admin' && !deps.adminSeesPatientData)) {
    throw new Forbidden('Les comptes rendus contiennent des données de patient que votre rôle ne consulte pas.', 'role-not-allowed');
  }
  const found = await deps.reports.signedReport(req.params.id);
  if (!found) throw reportNotFound(req.params.id);
  const item = await deps.worklist.findItem(found.itemId);
  if (!item || !maySeeReport(deps, principal, found, item)) throw reportNotFound(req.params.id);
  const versions = await deps.reports.reportVersions(found.originalId ?? found.id);
  const [deliveries, steps] = await Promise.all([deps.reports.deliveriesOf(versions.map((v) => v.id)), deps.reports.steps(item.id)]);
  res.json(reportJson(deps, versions, deliveries, steps, item));
}

function maySeeReport(deps: ReportRouteDeps, principal: ReturnType<typeof principalOf>, report: SignedReportRecord, item: WorklistItemView): boolean {
  switch (principal.role) {
    case 'sender':
      return principal.site === report.site;
    case 'reader':
    case 'expert':
    case 'coordinator':
      return canSeeItem(viewerOf(principal, deps), item);
    case 'admin':
      return deps.adminSeesPatientData;
    default:
      return false;
  }
}

async function keysHandler(deps: ReportRouteDeps, res: Response): Promise<void> {
  const keys = await deps.reports.publicKeys();
  res.json({
    keys: keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: 'ES256', use: 'sig', 'x-rpps': k.rpps, ...(k.retiredAt ? { 'x-retired': k.retiredAt.toISOString() } : {}) })),
  });
}

function refuseIncomplete(content: ReportContent): void {
  const problems = signingProblems(content);
  if (problems.length > 0) throw new BadRequest(`Le compte rendu ne peut pas encore être signé : ${problems.join(' ; ')}.`, 'report-incomplete');
}

function reportNotFound(id: string): NotFound {
  return new NotFound(`Aucun compte rendu ${id} ne vous est accessible.`, 'report-not-found');
}

function zoneOf(deps: ReportRouteDeps, territory: string): string {
  return deps.regionConfig.territories.find((t) => t.id === territory)?.timezone ?? deps.regionConfig.region.timezone;
}

function reportJson(
  deps: ReportRouteDeps,
  versions: SignedReportRecord[],
  deliveries: DeliveryRecord[],
  steps: Partial<Record<string, Date>>,
  item?: WorklistItemView,
) {
  const zone = zoneOf(deps, versions[0].territory);
  const at = (d: Date | null | undefined) => (d ? formatInstant(d, zone) : null);
  const first = versions[0];
  return {
    id: first.originalId ?? first.id,
    itemId: first.itemId,
    studyInstanceUID: first.studyInstanceUID,
    site: first.site,
    versions: versions.map((v) => ({
      id: v.id,
      version: v.version,
      kind: v.kind,
      author: v.payload.author,
      signedAt: at(v.signedAt),
      payload: v.payload,
      signature: { alg: 'ES256', kid: v.keyId, value: v.signature },
      objects: {
        sr: { seriesInstanceUID: v.sr.seriesInstanceUID, sopInstanceUID: v.sr.sopInstanceUID },
        pdf: { seriesInstanceUID: v.pdf.seriesInstanceUID, sopInstanceUID: v.pdf.sopInstanceUID },
      },
      deliveries: deliveries
        .filter((d) => d.reportId === v.id)
        .map((d) => ({ destination: d.destination, kind: d.kind, status: d.status, attempts: d.attempts, lastError: d.lastError, nextAttemptAt: at(d.nextAttemptAt), deliveredAt: at(d.deliveredAt) })),
    })),
    steps: item
      ? {
          routed: at(item.routedAt),
          claimed: at(item.claimedAt),
          opened: at(steps.opened),
          signed: at(steps.signed),
          delivered: at(steps.delivered),
        }
      : undefined,
  };
}
