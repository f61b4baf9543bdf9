/**
 * The route table: every route of the gateway, with who may call it and what it records, in one place.
 *
 * Each entry names its method and full path (as express matches it), what it is, its access (`public`, or the
 * answer of each role x relation, gateway/app/route-access.ts), its audit event (a describer of
 * gateway/account/audit-describers.ts, or why it records none) and its handler. createApp mounts the table
 * (gateway/app/mount-routes.ts): the audit describers before authentication, then each handler behind a role
 * gate that turns away, with 403, the roles the access forbids whatever the resource. What depends on the
 * resource (own site, routed, own territory) is decided by the handlers and access scopes.
 *
 * Every field is required: an entry without a handler, an access or an audit event does not compile.
 * test/unit/route-policies.test.ts fails when the app has a route the table does not know, or the table an
 * entry the app does not mount; test/integration/authorization-matrix.test.ts sends every route x principal x
 * relation to a real gateway and asserts each answer against the access written here.
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AuditDescribe } from '../account/audit-middleware.ts';
import {
  itemEvent,
  oppositionLiftedEvent,
  signInEvent,
  reportEvent,
  oppositionRecordedEvent,
  queryEvent,
  readEvent,
  stowEvent,
  studyEvent,
  studyExportEvent,
  studySendReadEvent,
  worklistEventsEvent,
} from '../account/audit-describers.ts';
import type { GatewayMetrics } from '../account/metrics.ts';
import { readinessHandler } from './readiness.ts';
import type { ViewerHandlers } from './viewer-routes.ts';
import type { ReportHandlers } from '../report/report-routes.ts';
import type { StudySendHandlers } from '../send/study-send-routes.ts';
import type { SignInHandlers } from '../auth/sign-in-routes.ts';
import { qidoHandler, type QidoSearch } from '../read/query/qido-routes.ts';
import type { QueryLevel } from '../../core/query/qido-types.ts';
import type { AccessScopeResolver } from '../read/retrieve/access-scope.ts';
import type { RenderedHandlers } from '../read/retrieve/rendered-routes.ts';
import {
  retrieveBulkDataHandler,
  retrieveFramesHandler,
  retrievePixelDataHandler,
  retrieveInstancesHandler,
  retrieveMetadataHandler,
  type RetrieveDependencies,
} from '../read/retrieve/wado-routes.ts';
import { claimHandler, releaseHandler } from '../read/worklist/claim-release.ts';
import { itemDetailHandler } from '../read/worklist/item-detail.ts';
import { listWorklistHandler } from '../read/worklist/list-worklist.ts';
import { liftOppositionHandler, recordOppositionHandler } from '../read/worklist/opposition-routes.ts';
import { jsonBody } from '../read/worklist/parse-body.ts';
import { reassignHandler } from '../read/worklist/reassign-item.ts';
import { reportIncidentHandler } from '../read/worklist/report-incident.ts';
import { answerSecondOpinionHandler, requestSecondOpinionHandler } from '../read/worklist/second-opinion.ts';
import { completeStudyHandler, routingExplanationHandler } from '../read/worklist/study-routes.ts';
import { worklistEventsHandler } from '../read/worklist/worklist-events-stream.ts';
import type { WorklistServices } from '../read/worklist/worklist-services.ts';
import type { Access, PoolRelation, RoleAccess, RouteAccess, SiteRelation, TerritoryRelation } from './route-access.ts';

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** `GET /dicomweb/studies/:study/metadata`: the method and the full path pattern as express matches it. */
export type RouteKey = `${RouteMethod | 'ALL'} /${string}`;

/** A route that records no audit event, and why (no patient data, no change of state). */
export interface NotAudited {
  notAudited: string;
}

/** The names of the parameters express takes from a path: `/studies/:study/series/:series` gives study | series. */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** A handler of the path `P`, which may read the parameters `P` gives it and no others. */
export type PathHandler<P extends string> = RequestHandler<{ [K in ParamNames<P>]: string }>;

/**
 * One route. `S` is what its handlers are built from (a part of RouteServices); `P` its path, whose parameters
 * its handlers are checked against when it is declared with route().
 */
export interface RouteEntry<S = RouteServices, P extends `/${string}` = `/${string}`> {
  method: RouteMethod;
  /** The full path pattern, mount point included. */
  path: P;
  /** What the route is, for people reading the table and the matrix. */
  what: string;
  access: RouteAccess;
  audit: AuditDescribe | NotAudited;
  /** Builds the route's handlers once, when the app is created. */
  handler: (services: S) => PathHandler<P> | readonly PathHandler<P>[];
}

/** Declares an entry: its handlers must read only the parameters its path gives them. */
export function route<S, const P extends `/${string}`>(entry: RouteEntry<S, P>): RouteEntry<S> {
  // Forgetting P is sound: express gives the handlers the parameters of the path they are mounted on.
  return entry as unknown as RouteEntry<S>;
}

/** What the entries of the gateway itself (not DICOMweb, not the worklist API) are built from. */
export interface GatewayServices {
  /** Resolves when the database and the object store answer; rejects with the reason otherwise. */
  checkReady: () => Promise<void>;
  metrics: GatewayMetrics;
  /** Where a failed readiness check's cause goes (the answer names the dependency only). */
  log: Logger;
  /** The reading web app's pages and files. */
  viewer: ViewerHandlers;
  /** The embedded sign-in (absent with an OpenID Connect provider: those entries are then not in the table). */
  signIn?: SignInHandlers;
  /** GET /api/sign-in/config: how the web app signs people in (embedded list, or OpenID Connect with PKCE). */
  signInConfig: RequestHandler;
  /** GET /api/me: who the caller's token stands for. */
  whoAmI: RequestHandler;
}

/** What DICOMweb's entries are built from. */
export interface DicomwebServices {
  /** The STOW-RS handler (one for both STOW routes: it keeps the spool directory's creation). */
  stow: RequestHandler;
  search: QidoSearch;
  accessScope: AccessScopeResolver;
  retrieve: RetrieveDependencies;
  rendered: RenderedHandlers;
}

/** What the report entries and the programme's indicators are built from. */
export interface ReportServices {
  reports: ReportHandlers;
  indicators: RequestHandler;
}

/** What "send this study to AE X" is built from. */
export interface StudySendServices {
  studySends: StudySendHandlers;
}

export interface RouteServices extends GatewayServices, DicomwebServices, WorklistServices, ReportServices, StudySendServices {}

export interface RouteTableOptions {
  /** ASTREINTE_ADMIN_PATIENT_ACCESS: administrators see images and metadata (false by default). */
  adminSeesPatientData: boolean;
  /**
   * The embedded sign-in routes exist (no OpenID Connect provider configured: the default). With OIDC they are
   * not in the table, so not mounted at all. Default true.
   */
  embeddedSignIn?: boolean;
}

export function routeKey(route: { method: RouteMethod; path: string }): RouteKey {
  return `${route.method} ${route.path}` as RouteKey;
}

/** The table, for an installation whose administrators do (or do not) see patient data. */
export function routeTable(options: RouteTableOptions = { adminSeesPatientData: false }): readonly RouteEntry[] {
  const access = accessRules(options);
  const study = '/dicomweb/studies/:study' as const;
  const series = `${study}/series/:series` as const;
  const instance = `${series}/instances/:instance` as const;
  const health = { notAudited: 'health check, no patient data' };
  const webApp = { notAudited: "the web app's own files, no patient data" };
  const qido = (level: QueryLevel) => (s: DicomwebServices) => qidoHandler(level, s.search, s.accessScope);
  const images = access.images;
  return [
    route({ method: 'GET', path: '/healthz', what: 'liveness probe', access: 'public', audit: health, handler: () => liveness }),
    route({
      method: 'GET',
      path: '/readyz',
      what: 'readiness probe (database and object store answer; names the dependency, never its host)',
      access: 'public',
      audit: health,
      handler: (s: GatewayServices) => readinessHandler(s.checkReady, s.log),
    }),
    route({
      method: 'GET',
      path: '/metrics',
      what: 'Prometheus metrics (no patient data)',
      access: access.indicators,
      audit: { notAudited: 'aggregate counters labelled by route pattern and status class, no patient data' },
      handler: (s: GatewayServices) => s.metrics.handler(),
    }),

    // The reading web app: pages and files without patient data; the app calls the APIs below with a token.
    route({ method: 'GET', path: '/', what: 'web app: worklist page', access: 'public', audit: webApp, handler: (s: GatewayServices) => s.viewer.page }),
    route({ method: 'GET', path: '/sign-in', what: 'web app: sign-in page', access: 'public', audit: webApp, handler: (s: GatewayServices) => s.viewer.page }),
    route({
      method: 'GET',
      path: '/sign-in/callback',
      what: "web app: where the identity provider sends the browser back (the app exchanges the code, then cleans the URL)",
      access: 'public',
      audit: webApp,
      handler: (s: GatewayServices) => s.viewer.page,
    }),
    route({
      method: 'GET',
      path: '/api/sign-in/config',
      what: 'web app: how to sign in (embedded list, or the OpenID Connect issuer and public client id)',
      access: 'public',
      audit: { notAudited: 'public sign-in settings, no patient data' },
      handler: (s: GatewayServices) => s.signInConfig,
    }),
    route({
      method: 'GET',
      path: '/api/me',
      what: "who the caller's token stands for (role, RPPS, site, territory, name)",
      access: access.anyRole,
      audit: { notAudited: "the caller's own identity, read from their token: no patient data" },
      handler: (s: GatewayServices) => s.whoAmI,
    }),
    route({
      method: 'GET',
      path: '/studies/:study',
      what: 'web app: reading page (the images come from WADO-RS, with a token)',
      access: 'public',
      audit: webApp,
      handler: (s: GatewayServices) => s.viewer.page,
    }),
    route({
      method: 'GET',
      path: '/dashboard',
      what: "web app: the regional dashboard (the figures come from /api/indicators, with a token)",
      access: 'public',
      audit: webApp,
      handler: (s: GatewayServices) => s.viewer.page,
    }),
    route({ method: 'GET', path: '/assets/*path', what: 'web app: scripts, styles, decode worker, codecs', access: 'public', audit: webApp, handler: (s: GatewayServices) => s.viewer.asset }),
    ...(options.embeddedSignIn === false
      ? []
      : [
          route({
            method: 'GET',
            path: '/api/sign-in/people',
            what: 'embedded default only: the people one may sign in as',
            access: 'public',
            audit: { notAudited: 'the people of the regional configuration, no patient data' },
            handler: (s: GatewayServices) => signInOf(s).people,
          }),
          route({
            method: 'POST',
            path: '/api/sign-in',
            what: 'embedded default only: a token for the person picked',
            access: 'public',
            audit: signInEvent,
            handler: (s: GatewayServices) => signInOf(s).signIn,
          }),
        ]),

    route({ method: 'POST', path: '/dicomweb/studies', what: 'STOW-RS', access: access.store, audit: stowEvent, handler: (s: DicomwebServices) => s.stow }),
    route({ method: 'POST', path: study, what: 'STOW-RS into a study', access: access.store, audit: stowEvent, handler: (s: DicomwebServices) => s.stow }),

    route({ method: 'GET', path: '/dicomweb/studies', what: 'QIDO-RS studies', access: images, audit: queryEvent('qido', 'dicomweb'), handler: qido('study') }),
    route({ method: 'GET', path: '/dicomweb/series', what: 'QIDO-RS series', access: images, audit: queryEvent('qido', 'dicomweb'), handler: qido('series') }),
    route({ method: 'GET', path: '/dicomweb/instances', what: 'QIDO-RS instances', access: images, audit: queryEvent('qido', 'dicomweb'), handler: qido('instance') }),
    route({ method: 'GET', path: `${study}/series`, what: 'QIDO-RS series of a study', access: images, audit: queryEvent('qido', 'dicomweb'), handler: qido('series') }),
    route({ method: 'GET', path: `${study}/instances`, what: 'QIDO-RS instances of a study', access: images, audit: queryEvent('qido', 'dicomweb'), handler: qido('instance') }),
    route({ method: 'GET', path: `${series}/instances`, what: 'QIDO-RS instances of a series', access: images, audit: queryEvent('qido', 'dicomweb'), handler: qido('instance') }),

    route({ method: 'GET', path: study, what: 'WADO-RS study', access: images, audit: readEvent('110104', 'wado-retrieve'), handler: (s: DicomwebServices) => retrieveInstancesHandler(s.retrieve) }),
    route({ method: 'GET', path: series, what: 'WADO-RS series', access: images, audit: readEvent('110104', 'wado-retrieve'), handler: (s: DicomwebServices) => retrieveInstancesHandler(s.retrieve) }),
    route({ method: 'GET', path: instance, what: 'WADO-RS instance', access: images, audit: readEvent('110104', 'wado-retrieve'), handler: (s: DicomwebServices) => retrieveInstancesHandler(s.retrieve) }),
    route({ method: 'GET', path: `${study}/metadata`, what: 'WADO-RS study metadata', access: images, audit: readEvent('110103', 'wado-metadata'), handler: (s: DicomwebServices) => retrieveMetadataHandler(s.retrieve) }),
    route({ method: 'GET', path: `${series}/metadata`, what: 'WADO-RS series metadata', access: images, audit: readEvent('110103', 'wado-metadata'), handler: (s: DicomwebServices) => retrieveMetadataHandler(s.retrieve) }),
    route({ method: 'GET', path: `${instance}/metadata`, what: 'WADO-RS instance metadata', access: images, audit: readEvent('110103', 'wado-metadata'), handler: (s: DicomwebServices) => retrieveMetadataHandler(s.retrieve) }),
    route({ method: 'GET', path: `${instance}/frames/:frames`, what: 'WADO-RS frames', access: images, audit: readEvent('110104', 'wado-frames'), handler: (s: DicomwebServices) => retrieveFramesHandler(s.retrieve) }),
    route({ method: 'GET', path: `${study}/pixeldata`, what: 'WADO-RS study pixel data (every frame)', access: images, audit: readEvent('110104', 'wado-pixeldata'), handler: (s: DicomwebServices) => retrievePixelDataHandler(s.retrieve) }),
    route({ method: 'GET', path: `${series}/pixeldata`, what: 'WADO-RS series pixel data (every frame)', access: images, audit: readEvent('110104', 'wado-pixeldata'), handler: (s: DicomwebServices) => retrievePixelDataHandler(s.retrieve) }),
    route({ method: 'GET', path: `${instance}/pixeldata`, what: 'WADO-RS instance pixel data (every frame)', access: images, audit: readEvent('110104', 'wado-pixeldata'), handler: (s: DicomwebServices) => retrievePixelDataHandler(s.retrieve) }),
    route({ method: 'GET', path: `${instance}/bulkdata/*path`, what: 'WADO-RS bulk data', access: images, audit: readEvent('110104', 'wado-bulkdata'), handler: (s: DicomwebServices) => retrieveBulkDataHandler(s.retrieve) }),
    // Rendered resources and thumbnails (PS3.18 10.4.1): pixels shown, audited as instances accessed.
    route({ method: 'GET', path: `${study}/rendered`, what: 'WADO-RS rendered study', access: images, audit: readEvent('110103', 'wado-rendered'), handler: (s: DicomwebServices) => s.rendered.set }),
    route({ method: 'GET', path: `${series}/rendered`, what: 'WADO-RS rendered series', access: images, audit: readEvent('110103', 'wado-rendered'), handler: (s: DicomwebServices) => s.rendered.set }),
    route({ method: 'GET', path: `${instance}/rendered`, what: 'WADO-RS rendered instance', access: images, audit: readEvent('110103', 'wado-rendered'), handler: (s: DicomwebServices) => s.rendered.instance }),
    route({ method: 'GET', path: `${instance}/frames/:frames/rendered`, what: 'WADO-RS rendered frames', access: images, audit: readEvent('110103', 'wado-rendered'), handler: (s: DicomwebServices) => s.rendered.frames }),
    route({ method: 'GET', path: `${study}/thumbnail`, what: 'WADO-RS study thumbnail', access: images, audit: readEvent('110103', 'wado-thumbnail'), handler: (s: DicomwebServices) => s.rendered.thumbnail }),
    route({ method: 'GET', path: `${series}/thumbnail`, what: 'WADO-RS series thumbnail', access: images, audit: readEvent('110103', 'wado-thumbnail'), handler: (s: DicomwebServices) => s.rendered.thumbnail }),
    route({ method: 'GET', path: `${instance}/thumbnail`, what: 'WADO-RS instance thumbnail', access: images, audit: readEvent('110103', 'wado-thumbnail'), handler: (s: DicomwebServices) => s.rendered.thumbnail }),
    route({ method: 'GET', path: `${instance}/frames/:frames/thumbnail`, what: 'WADO-RS frame thumbnail', access: images, audit: readEvent('110103', 'wado-thumbnail'), handler: (s: DicomwebServices) => s.rendered.thumbnail }),

    ...worklistRouteTable(options),

    // "Send this study to AE X" (gateway/send, worker/send): administrators, to the region's dicomPeers only.
    route({ method: 'POST', path: '/api/studies/:study/send', what: 'send the study to a DICOM peer of the region (C-STORE)', access: access.studySend, audit: studyExportEvent, handler: (s: StudySendServices) => [jsonBody, s.studySends.send] }),
    route({ method: 'GET', path: '/api/studies/:study/sends', what: "the study's sends to DICOM peers: status, counts, last error", access: access.studySend, audit: studySendReadEvent('study'), handler: (s: StudySendServices) => s.studySends.sendsOfStudy }),
    route({ method: 'GET', path: '/api/sends/:id', what: "one send to a DICOM peer with each instance's C-STORE status", access: access.studySend, audit: studySendReadEvent('send'), handler: (s: StudySendServices) => s.studySends.sendDetail }),

    // Reports (gateway/report): drafts and signature on the item, signed versions and addenda, readers' keys.
    route({
      method: 'GET',
      path: '/api/worklist/:id/report',
      what: "the item's report draft (or its template) and signed report id",
      access: access.reportDraft,
      audit: itemEvent('R', 'report-draft'),
      handler: (s: ReportServices) => s.reports.draft,
    }),
    route({ method: 'POST', path: '/api/worklist/:id/report', what: 'save the report draft (holder)', access: access.readerAct, audit: itemEvent('U', 'worklist-report'), handler: (s: ReportServices) => s.reports.saveDraft }),
    route({ method: 'POST', path: '/api/worklist/:id/report/sign', what: 'sign the report (holder)', access: access.readerAct, audit: itemEvent('C', 'report-signed'), handler: (s: ReportServices) => s.reports.sign }),
    route({ method: 'POST', path: '/api/reports/:id/addenda', what: 'sign an addendum to a report', access: access.readerAct, audit: reportEvent('C', 'report-addendum'), handler: (s: ReportServices) => s.reports.addendum }),
    route({
      method: 'GET',
      path: '/api/reports/:id',
      what: 'a signed report: versions, signatures, delivery status',
      access: access.reportRead,
      audit: reportEvent('R', 'report-read'),
      handler: (s: ReportServices) => s.reports.report,
    }),
    route({
      method: 'GET',
      path: '/api/keys',
      what: "readers' public signing keys (JWKS)",
      access: access.publicKeys,
      audit: () => ({ type: '110112', subtype: 'report-keys', action: 'E' }),
      handler: (s: ReportServices) => s.reports.keys,
    }),
    route({
      method: 'GET',
      path: '/api/indicators',
      what: "the programme's indicators by period and site (aggregates, JSON or CSV)",
      access: access.programme,
      audit: queryEvent('indicators', 'indicators'),
      handler: (s: ReportServices) => s.indicators,
    }),
  ];
}

/**
 * The worklist API (mounted at /api), part of the table above; typed apart so that it can be mounted with the
 * worklist's services alone (test/integration/worklist-api.test.ts).
 */
export function worklistRouteTable(options: RouteTableOptions = { adminSeesPatientData: false }): readonly RouteEntry<WorklistServices>[] {
  const access = accessRules(options);
  type W = WorklistServices;
  return [
    route({ method: 'GET', path: '/api/worklist', what: 'worklist', access: access.worklist, audit: queryEvent('worklist', 'worklist'), handler: (s: W) => listWorklistHandler(s.items) }),
    route({
      method: 'GET',
      path: '/api/worklist/events',
      what: 'worklist live events (SSE)',
      access: access.worklist,
      audit: worklistEventsEvent,
      handler: (s: W) => worklistEventsHandler({ regionConfig: s.items.regionConfig, hub: s.hub }),
    }),
    route({ method: 'GET', path: '/api/worklist/:id', what: 'worklist item with its history', access: access.worklist, audit: itemEvent('R', 'worklist-item'), handler: (s: W) => itemDetailHandler(s.items) }),
    route({ method: 'POST', path: '/api/worklist/:id/claim', what: 'claim an item', access: access.readerAct, audit: itemEvent('U', 'worklist-claim'), handler: (s: W) => [jsonBody, claimHandler(s.items)] }),
    route({ method: 'POST', path: '/api/worklist/:id/release', what: 'release a held item', access: access.readerAct, audit: itemEvent('U', 'worklist-release'), handler: (s: W) => [jsonBody, releaseHandler(s.items)] }),
    route({ method: 'POST', path: '/api/worklist/:id/reassign', what: 'reassign an item', access: access.coordinatorAct, audit: itemEvent('U', 'worklist-reassign'), handler: (s: W) => [jsonBody, reassignHandler(s.items)] }),
    route({
      method: 'POST',
      path: '/api/worklist/:id/second-opinion',
      what: 'ask an expertise pole (holder)',
      access: access.readerAct,
      audit: itemEvent('U', 'worklist-second-opinion'),
      handler: (s: W) => [jsonBody, requestSecondOpinionHandler(s.items)],
    }),
    route({
      method: 'POST',
      path: '/api/worklist/:id/answer',
      what: 'answer a second opinion (expert holding it)',
      access: access.expertAct,
      audit: itemEvent('U', 'worklist-answer'),
      handler: (s: W) => [jsonBody, answerSecondOpinionHandler(s.items)],
    }),
    route({
      method: 'POST',
      path: '/api/worklist/:id/incidents',
      what: 'record a technical incident',
      access: access.worklist,
      audit: itemEvent('U', 'worklist-incidents'),
      handler: (s: W) => [jsonBody, reportIncidentHandler(s.items)],
    }),
    route({
      method: 'POST',
      path: '/api/studies/:study/complete',
      what: 'the sending site says the study is complete',
      access: access.senderAct,
      audit: studyEvent('U', 'study-complete'),
      handler: (s: W) => [jsonBody, completeStudyHandler(s.completion)],
    }),
    route({
      method: 'GET',
      path: '/api/studies/:study/routing',
      what: 'routing decision and why',
      access: access.worklist,
      audit: studyEvent('R', 'routing-explanation'),
      handler: (s: W) => routingExplanationHandler(s.items),
    }),
    route({
      method: 'POST',
      path: '/api/oppositions',
      what: "record a patient's objection",
      access: access.opposition,
      audit: oppositionRecordedEvent,
      handler: (s: W) => [jsonBody, recordOppositionHandler(s.oppositions)],
    }),
    route({
      method: 'POST',
      path: '/api/oppositions/lift',
      what: "lift a patient's objection (patient named in the body)",
      access: access.oppositionLift,
      audit: oppositionLiftedEvent,
      handler: (s: W) => [jsonBody, liftOppositionHandler(s.oppositions)],
    }),
  ];
}

function signInOf(services: GatewayServices): SignInHandlers {
  if (!services.signIn) throw new Error('The embedded sign-in entries need the sign-in handlers: build the table with embeddedSignIn false under OIDC.');
  return services.signIn;
}

const liveness: RequestHandler = (_req, res) => {
  res.json({ status: 'ok' });
};

const site = (own: Access, other: Access): Record<SiteRelation, Access> => ({ 'own-site': own, 'other-site': other });
const pool = (routed: Access, notRouted: Access): Record<PoolRelation, Access> => ({ routed, 'not-routed': notRouted });
const territory = (own: Access, other: Access): Record<TerritoryRelation, Access> => ({ 'own-territory': own, 'other-territory': other });

type AccessRule =
  | 'images'
  | 'store'
  | 'worklist'
  | 'readerAct'
  | 'expertAct'
  | 'coordinatorAct'
  | 'senderAct'
  | 'opposition'
  | 'oppositionLift'
  | 'indicators'
  | 'reportRead'
  | 'reportDraft'
  | 'publicKeys'
  | 'programme'
  | 'studySend'
  | 'anyRole';

/** The kinds of access the routes share. */
function accessRules(options: RouteTableOptions): Record<AccessRule, RoleAccess> {
  /** Claim, release, ask a second opinion: the readers and experts who see the item (release and ask: its holder). */
  const readerAct: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('allow', 'hidden'),
    expert: pool('allow', 'hidden'),
    coordinator: territory('forbidden', 'hidden'),
    analyst: 'forbidden',
    admin: 'forbidden',
  };
  const worklist: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('allow', 'hidden'),
    expert: pool('allow', 'hidden'),
    coordinator: territory('allow', 'hidden'),
    analyst: 'forbidden',
    admin: 'allow',
    refusal: (role) => `Worklists are for readers, experts, coordinators and administrators; your token has the role ${role}.`,
  };
  const indicators: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('forbidden', 'forbidden'),
    expert: pool('forbidden', 'forbidden'),
    coordinator: territory('forbidden', 'forbidden'),
    analyst: 'allow',
    admin: 'allow',
  };
  return {
    /** Every authenticated caller, whatever the resource (their own identity). */
    anyRole: {
      sender: site('allow', 'allow'),
      reader: pool('allow', 'allow'),
      expert: pool('allow', 'allow'),
      coordinator: territory('allow', 'allow'),
      analyst: 'allow',
      admin: 'allow',
    },
    /** Images, metadata and searches: a site its own studies, readers and experts what is routed to them. */
    images: {
      sender: site('allow', 'hidden'),
      reader: pool('allow', 'hidden'),
      expert: pool('allow', 'hidden'),
      coordinator: territory('forbidden', 'forbidden'),
      analyst: 'forbidden',
      admin: options.adminSeesPatientData ? 'allow' : 'forbidden',
      refusal: (role) =>
        role === 'admin'
          ? 'Administrators do not see patient data on this installation (ASTREINTE_ADMIN_PATIENT_ACCESS is off).'
          : `Your role (${role}) gives no access to images or their metadata.`,
    },
    /** STOW-RS: a site stores its own studies; an administrator imports (archived without a site, never routed). */
    store: {
      sender: site('allow', 'refused'),
      reader: pool('forbidden', 'forbidden'),
      expert: pool('forbidden', 'forbidden'),
      coordinator: territory('forbidden', 'forbidden'),
      analyst: 'forbidden',
      admin: 'allow',
      refusal: () => 'Only sending sites (role sender) and administrators can store studies.',
    },
    /** Worklists, items, their live events, incidents and routing explanations: whoever may see the item. */
    worklist,
    readerAct,
    /** Answering a second opinion is the expert's act (téléexpertise), on an item of their pole they hold. */
    expertAct: { ...readerAct, reader: pool('forbidden', 'hidden') },
    /** Reassignment: the coordinator of the item's territory, or an administrator. */
    coordinatorAct: {
      sender: site('forbidden', 'forbidden'),
      reader: pool('forbidden', 'hidden'),
      expert: pool('forbidden', 'hidden'),
      coordinator: territory('allow', 'hidden'),
      analyst: 'forbidden',
      admin: 'allow',
    },
    /** The sending site says its study is complete (route it now); an administrator may too. */
    senderAct: {
      sender: site('allow', 'hidden'),
      reader: pool('forbidden', 'forbidden'),
      expert: pool('forbidden', 'forbidden'),
      coordinator: territory('forbidden', 'forbidden'),
      analyst: 'forbidden',
      admin: 'allow',
      refusal: () => 'Only the sending site of a study (or an administrator) can declare it complete.',
    },
    /** A patient's objection (regional registry, keyed by patient id and issuer): coordinators and administrators. */
    opposition: {
      sender: site('forbidden', 'forbidden'),
      reader: pool('forbidden', 'forbidden'),
      expert: pool('forbidden', 'forbidden'),
      coordinator: territory('allow', 'allow'),
      analyst: 'forbidden',
      admin: 'allow',
      refusal: () => "Only a coordinator or an administrator can record or lift a patient's opposition.",
    },
    /**
     * Lifting an objection: a coordinator only those recorded by their territory's coordination (the relation is
     * the objection's territory), an administrator any.
     */
    oppositionLift: {
      sender: site('forbidden', 'forbidden'),
      reader: pool('forbidden', 'forbidden'),
      expert: pool('forbidden', 'forbidden'),
      coordinator: territory('allow', 'forbidden'),
      analyst: 'forbidden',
      admin: 'allow',
      refusal: () => "Only a coordinator or an administrator can record or lift a patient's opposition.",
    },
    /** Aggregate indicators (Prometheus metrics, labelled by route pattern only): analysts and administrators. */
    indicators,
    /** The programme's indicators (aggregates only): analysts, administrators, a coordinator for their territory's sites. */
    programme: { ...indicators, coordinator: territory('allow', 'forbidden') },
    /** A signed report: whoever sees its item, and the sending site it goes back to. */
    reportRead: {
      sender: site('allow', 'hidden'),
      reader: pool('allow', 'hidden'),
      expert: pool('allow', 'hidden'),
      coordinator: territory('allow', 'hidden'),
      analyst: 'forbidden',
      admin: options.adminSeesPatientData ? 'allow' : 'forbidden',
    },
    /** The draft of an item's report: read by whoever sees the item (written and signed by its holder: readerAct). */
    reportDraft: { ...worklist },
    /**
     * Sending a study to a DICOM peer (an export of patient data): administrators only, whatever
     * ASTREINTE_ADMIN_PATIENT_ACCESS says (they send, they do not see). Not coordinators: they see no images here.
     */
    studySend: { ...indicators, analyst: 'forbidden', refusal: () => 'Only an administrator can send a study to a DICOM peer.' },
    /** The readers' public keys (JWKS): anyone authenticated verifies signatures. */
    publicKeys: {
      sender: site('allow', 'allow'),
      reader: pool('allow', 'allow'),
      expert: pool('allow', 'allow'),
      coordinator: territory('allow', 'allow'),
      analyst: 'allow',
      admin: 'allow',
    },
  };
}

/** The table of the default installation (administrators see no patient data). */
export const ROUTE_TABLE: readonly RouteEntry[] = routeTable();
