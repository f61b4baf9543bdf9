/**
 * Who may call which route of the gateway: one entry per route (method + path as express mounts it), with,
 * for each role, the answer expected for the caller's relation to the resource the request is about:
 *
 *   sender       own-site / other-site            (the study's sending site is the token's FINESS, or not)
 *   reader       routed / not-routed              (a worklist item of it is assigned, offered or in a pool of theirs)
 *   expert       routed / not-routed              (same, plus the expertise poles of their qualifications)
 *   coordinator  own-territory / other-territory  (the item's or study's territory is the token's)
 *   analyst, admin   any
 *
 * Answers: `allow` (2xx; for searches and lists: the resource is listed), `forbidden` (403: the role may not
 * do this at all), `hidden` (404 worded exactly as for a resource that does not exist; for searches and lists:
 * the resource is left out), `refused` (STOW-RS's own refusal: 409 with every instance in the
 * FailedSOPSequence, FailureReason 0x0124 Not Authorized). A request without a valid token gets 401 on every
 * route but the health checks.
 *
 * test/integration/authorization-matrix.test.ts sends every route x principal x relation to a real gateway
 * and asserts each answer; it and test/unit/route-policies.test.ts fail as soon as the app has a route this
 * table does not know (or the table a route the app no longer has).
 */
import type { Express, RequestHandler } from 'express';
import { METHODS } from 'node:http';
import { loadSettings, type Settings } from '../../config/settings.ts';
import type { Role } from '../../core/identity/roles.ts';
import { createApp, type AppDependencies } from './create-app.ts';

export type Access = 'allow' | 'forbidden' | 'hidden' | 'refused';
export type Expectation = Access | 'unauthenticated';

export type SiteRelation = 'own-site' | 'other-site';
export type PoolRelation = 'routed' | 'not-routed';
export type TerritoryRelation = 'own-territory' | 'other-territory';
export type Relation = SiteRelation | PoolRelation | TerritoryRelation | 'any';

/** The relations that decide each role's access. */
export const RELATIONS_OF_ROLE: { readonly [R in Role]: readonly Relation[] } = {
  sender: ['own-site', 'other-site'],
  reader: ['routed', 'not-routed'],
  expert: ['routed', 'not-routed'],
  coordinator: ['own-territory', 'other-territory'],
  analyst: ['any'],
  admin: ['any'],
};

export interface RoleAccess {
  sender: Record<SiteRelation, Access>;
  reader: Record<PoolRelation, Access>;
  expert: Record<PoolRelation, Access>;
  coordinator: Record<TerritoryRelation, Access>;
  analyst: Access;
  admin: Access;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'ALL';
/** `GET /dicomweb/studies/:study/metadata`: the method and the full path pattern as express matches it. */
export type RouteKey = `${HttpMethod} /${string}`;

export interface RoutePolicy {
  route: RouteKey;
  /** What the route is, for people reading the matrix. */
  what: string;
  /** `public`: answered without a token (health checks only). */
  access: 'public' | RoleAccess;
}

export interface PolicyOptions {
  /** ASTREINTE_ADMIN_PATIENT_ACCESS: administrators see images and metadata (false by default). */
  adminSeesPatientData: boolean;
}

const site = (own: Access, other: Access): Record<SiteRelation, Access> => ({ 'own-site': own, 'other-site': other });
const pool = (routed: Access, notRouted: Access): Record<PoolRelation, Access> => ({ routed, 'not-routed': notRouted });
const territory = (own: Access, other: Access): Record<TerritoryRelation, Access> => ({ 'own-territory': own, 'other-territory': other });

/** The table, for an installation whose administrators do (or do not) see patient data. */
export function routePolicies(options: PolicyOptions = { adminSeesPatientData: false }): readonly RoutePolicy[] {
  /** Images, metadata and searches: a site its own studies, readers and experts what is routed to them. */
  const images: RoleAccess = {
    sender: site('allow', 'hidden'),
    reader: pool('allow', 'hidden'),
    expert: pool('allow', 'hidden'),
    coordinator: territory('forbidden', 'forbidden'),
    analyst: 'forbidden',
    admin: options.adminSeesPatientData ? 'allow' : 'forbidden',
  };
  /** STOW-RS: a site stores its own studies; an administrator imports (archived without a site, never routed). */
  const store: RoleAccess = {
    sender: site('allow', 'refused'),
    reader: pool('forbidden', 'forbidden'),
    expert: pool('forbidden', 'forbidden'),
    coordinator: territory('forbidden', 'forbidden'),
    analyst: 'forbidden',
    admin: 'allow',
  };
  /** Worklists, items, their live events, incidents and routing explanations: whoever may see the item. */
  const worklist: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('allow', 'hidden'),
    expert: pool('allow', 'hidden'),
    coordinator: territory('allow', 'hidden'),
    analyst: 'forbidden',
    admin: 'allow',
  };
  /** Claim, release, ask a second opinion: the readers and experts who see the item (release and ask: its holder). */
  const readerAct: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('allow', 'hidden'),
    expert: pool('allow', 'hidden'),
    coordinator: territory('forbidden', 'hidden'),
    analyst: 'forbidden',
    admin: 'forbidden',
  };
  /** Answering a second opinion is the expert's act (téléexpertise), on an item of their pole they hold. */
  const expertAct: RoleAccess = { ...readerAct, reader: pool('forbidden', 'hidden') };
  /** Reassignment: the coordinator of the item's territory, or an administrator. */
  const coordinatorAct: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('forbidden', 'hidden'),
    expert: pool('forbidden', 'hidden'),
    coordinator: territory('allow', 'hidden'),
    analyst: 'forbidden',
    admin: 'allow',
  };
  /** The sending site says its study is complete (route it now); an administrator may too. */
  const senderAct: RoleAccess = {
    sender: site('allow', 'hidden'),
    reader: pool('forbidden', 'forbidden'),
    expert: pool('forbidden', 'forbidden'),
    coordinator: territory('forbidden', 'forbidden'),
    analyst: 'forbidden',
    admin: 'allow',
  };
  /** A patient's objection (regional registry, keyed by patient id and issuer): coordinators and administrators. */
  const opposition: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('forbidden', 'forbidden'),
    expert: pool('forbidden', 'forbidden'),
    coordinator: territory('allow', 'allow'),
    analyst: 'forbidden',
    admin: 'allow',
  };

  /** Aggregate indicators (Prometheus metrics, labelled by route pattern only): analysts and administrators. */
  const indicators: RoleAccess = {
    sender: site('forbidden', 'forbidden'),
    reader: pool('forbidden', 'forbidden'),
    expert: pool('forbidden', 'forbidden'),
    coordinator: territory('forbidden', 'forbidden'),
    analyst: 'allow',
    admin: 'allow',
  };

  /** A signed report: whoever sees its item, and the sending site it goes back to. */
  const reportRead: RoleAccess = {
    sender: site('allow', 'hidden'),
    reader: pool('allow', 'hidden'),
    expert: pool('allow', 'hidden'),
    coordinator: territory('allow', 'hidden'),
    analyst: 'forbidden',
    admin: options.adminSeesPatientData ? 'allow' : 'forbidden',
  };
  /** The readers' public keys (JWKS): anyone authenticated verifies signatures. */
  const publicKeys: RoleAccess = {
    sender: site('allow', 'allow'),
    reader: pool('allow', 'allow'),
    expert: pool('allow', 'allow'),
    coordinator: territory('allow', 'allow'),
    analyst: 'allow',
    admin: 'allow',
  };
  /** The programme's indicators (aggregates only): analysts, administrators, a coordinator for their territory's sites. */
  const programme: RoleAccess = { ...indicators, coordinator: territory('allow', 'forbidden') };
  /** The draft of an item's report: read by whoever sees the item, written and signed by its holder. */
  const reportDraft: RoleAccess = { ...worklist };

  const study = '/dicomweb/studies/:study';
  const series = `${study}/series/:series`;
  const instance = `${series}/instances/:instance`;
  return [
    { route: 'GET /healthz', what: 'liveness probe', access: 'public' },
    { route: 'GET /readyz', what: 'readiness probe (database and object store answer)', access: 'public' },
    { route: 'GET /metrics', what: 'Prometheus metrics (no patient data)', access: indicators },

    { route: 'POST /dicomweb/studies', what: 'STOW-RS', access: store },
    { route: `POST ${study}`, what: 'STOW-RS into a study', access: store },

    { route: 'GET /dicomweb/studies', what: 'QIDO-RS studies', access: images },
    { route: 'GET /dicomweb/series', what: 'QIDO-RS series', access: images },
    { route: 'GET /dicomweb/instances', what: 'QIDO-RS instances', access: images },
    { route: `GET ${study}/series`, what: 'QIDO-RS series of a study', access: images },
    { route: `GET ${study}/instances`, what: 'QIDO-RS instances of a study', access: images },
    { route: `GET ${series}/instances`, what: 'QIDO-RS instances of a series', access: images },

    { route: `GET ${study}`, what: 'WADO-RS study', access: images },
    { route: `GET ${series}`, what: 'WADO-RS series', access: images },
    { route: `GET ${instance}`, what: 'WADO-RS instance', access: images },
    { route: `GET ${study}/metadata`, what: 'WADO-RS study metadata', access: images },
    { route: `GET ${series}/metadata`, what: 'WADO-RS series metadata', access: images },
    { route: `GET ${instance}/metadata`, what: 'WADO-RS instance metadata', access: images },
    { route: `GET ${instance}/frames/:frames`, what: 'WADO-RS frames', access: images },
    { route: `GET ${instance}/bulkdata/*path`, what: 'WADO-RS bulk data', access: images },

    { route: 'GET /api/worklist', what: 'worklist', access: worklist },
    { route: 'GET /api/worklist/events', what: 'worklist live events (SSE)', access: worklist },
    { route: 'GET /api/worklist/:id', what: 'worklist item with its history', access: worklist },
    { route: 'POST /api/worklist/:id/claim', what: 'claim an item', access: readerAct },
    { route: 'POST /api/worklist/:id/release', what: 'release a held item', access: readerAct },
    { route: 'POST /api/worklist/:id/reassign', what: 'reassign an item', access: coordinatorAct },
    { route: 'POST /api/worklist/:id/second-opinion', what: 'ask an expertise pole (holder)', access: readerAct },
    { route: 'POST /api/worklist/:id/answer', what: 'answer a second opinion (expert holding it)', access: expertAct },
    { route: 'POST /api/worklist/:id/incidents', what: 'record a technical incident', access: worklist },
    { route: 'GET /api/worklist/:id/report', what: "the item's report draft (or its template) and signed report id", access: reportDraft },
    { route: 'POST /api/worklist/:id/report', what: 'save the report draft (holder)', access: readerAct },
    { route: 'POST /api/worklist/:id/report/sign', what: 'sign the report (holder)', access: readerAct },
    { route: 'POST /api/reports/:id/addenda', what: 'sign an addendum to a report', access: readerAct },
    { route: 'GET /api/reports/:id', what: 'a signed report: versions, signatures, delivery status', access: reportRead },
    { route: 'GET /api/indicators', what: "the programme's indicators by period and site (aggregates, JSON or CSV)", access: programme },
    { route: 'GET /api/keys', what: "readers' public signing keys (JWKS)", access: publicKeys },
    { route: 'POST /api/studies/:study/complete', what: 'the sending site says the study is complete', access: senderAct },
    { route: 'GET /api/studies/:study/routing', what: 'routing decision and why', access: worklist },
    { route: 'POST /api/oppositions', what: "record a patient's objection", access: opposition },
    { route: 'DELETE /api/oppositions/:issuer/:patientId', what: "lift a patient's objection", access: opposition },
  ];
}

/** The policies of the default installation (administrators see no patient data). */
export const ROUTE_POLICIES: readonly RoutePolicy[] = routePolicies();

export type Caller = { authenticated: false } | { authenticated: true; role: Role; relation: Relation };

/** The answer a caller should get from a route, per its policy. */
export function expectedAccess(policy: RoutePolicy, caller: Caller): Expectation {
  if (policy.access === 'public') return 'allow';
  if (!caller.authenticated) return 'unauthenticated';
  const { role, relation } = caller;
  if (!RELATIONS_OF_ROLE[role].includes(relation)) {
    throw new Error(`The relation ${relation} does not apply to the role ${role}; use one of ${RELATIONS_OF_ROLE[role].join(', ')}.`);
  }
  const access = policy.access;
  switch (role) {
    case 'sender':
      return access.sender[relation as SiteRelation];
    case 'reader':
    case 'expert':
      return access[role][relation as PoolRelation];
    case 'coordinator':
      return access.coordinator[relation as TerritoryRelation];
    case 'analyst':
    case 'admin':
      return access[role];
  }
}

export function routeKey(method: string, path: string): RouteKey {
  return `${method.toUpperCase()} ${path}` as RouteKey;
}

export interface RouteComparison {
  /** Routes the app answers that no policy covers: each must be given one. */
  withoutPolicy: RouteKey[];
  /** Policies of routes the app no longer has. */
  withoutRoute: RouteKey[];
  /** Routes with more than one policy. */
  duplicated: RouteKey[];
}

export function compareRoutesWithPolicies(routes: readonly RouteKey[], policies: readonly RoutePolicy[] = ROUTE_POLICIES): RouteComparison {
  const routeSet = new Set(routes);
  const seen = new Set<RouteKey>();
  const duplicated: RouteKey[] = [];
  for (const p of policies) {
    if (seen.has(p.route)) duplicated.push(p.route);
    seen.add(p.route);
  }
  return {
    withoutPolicy: [...routeSet].filter((r) => !seen.has(r)).sort(),
    withoutRoute: [...seen].filter((r) => !routeSet.has(r)).sort(),
    duplicated,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Listing the routes of an express 5 app

/** The parts of router 2.x's Layer and Route this listing reads (declared in router/index.d.ts). */
interface RouterLayer {
  rawPath?: unknown;
  handle: unknown;
  method?: string;
  route?: { stack: RouterLayer[] };
}

export interface ListRoutesOptions {
  /**
   * Handlers that only watch requests and pass them on (the audit table mounts one per route): a route whose
   * every handler for a method is an observer is not an endpoint for that method.
   */
  isObserver?: (handler: unknown) => boolean;
}

/**
 * Every endpoint of an express 5 app as `METHOD /full/path` (HEAD, implied by GET, is left out), walking the
 * app router and the routers mounted in it. router 2.3's listRoutes() gives paths and mounted routers but not
 * the handlers, which are needed to leave out observer routes; so the stack is walked here, reading the same
 * fields listRoutes() reads (Layer.rawPath, Layer.route, a mounted router's stack). Plain middleware is not a
 * route and is not listed. A RegExp path cannot be named in a policy: it throws.
 */
export function listRoutes(app: Express, options: ListRoutesOptions = {}): RouteKey[] {
  const routes = new Set<RouteKey>();
  walk(app.router.stack as unknown as RouterLayer[], '', options.isObserver ?? (() => false), routes);
  return [...routes].sort();
}

function walk(stack: readonly RouterLayer[], prefix: string, isObserver: (handler: unknown) => boolean, out: Set<RouteKey>): void {
  for (const layer of stack) {
    const paths = (Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath]).map((p) => pathText(p, prefix));
    if (layer.route) {
      const endpoints = new Map<string, boolean>();
      for (const handler of layer.route.stack) {
        const method = (handler.method ?? 'all').toUpperCase();
        endpoints.set(method, (endpoints.get(method) ?? false) || !isObserver(handler.handle));
      }
      let methods = [...endpoints].filter(([, isEndpoint]) => isEndpoint).map(([method]) => method);
      // app.all() registers the route once per HTTP method: name it once.
      if (METHODS.every((m) => methods.includes(m))) methods = ['ALL'];
      for (const method of methods) for (const path of paths) out.add(routeKey(method, joinPath(prefix, path)));
    } else if (isRouter(layer.handle)) {
      for (const path of paths) walk(layer.handle.stack, joinPath(prefix, path), isObserver, out);
    }
  }
}

function isRouter(handle: unknown): handle is { stack: RouterLayer[] } {
  return typeof handle === 'function' && Array.isArray((handle as { stack?: unknown }).stack);
}

function pathText(path: unknown, prefix: string): string {
  if (typeof path === 'string') return path;
  throw new Error(
    `A route under ${JSON.stringify(prefix || '/')} is mounted on ${String(path)}, which is not a string path: ` +
      'give it a string path so that a policy can name it.',
  );
}

function joinPath(prefix: string, path: string): string {
  const joined = `${prefix.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
}

/**
 * The routes createApp mounts, listed from an app built with dependencies that refuse to be used (building
 * the app only registers routes; it never handles a request here), and an auditor whose middlewares are the
 * observers to leave out.
 */
export function listGatewayRoutes(settings: Settings = loadSettings({})): RouteKey[] {
  const observers = new Set<unknown>();
  const auditor: AppDependencies['auditor'] = {
    audit() {
      const observe: RequestHandler = (_req, _res, next) => next();
      observers.add(observe);
      return observe;
    },
    stats: { recorded: 0, failed: 0, pending: 0 },
    drain: async () => undefined,
  };
  const app = createApp({
    settings,
    auditor,
    index: unusable('index'),
    objects: unusable('objects'),
    search: unusable('search'),
    verifier: unusable('verifier'),
    log: unusable('log'),
    checkReady: unusable('checkReady'),
    database: unusable('database'),
    regionConfig: unusable('regionConfig'),
    clock: unusable('clock'),
    notifications: unusable('notifications'),
    routing: unusable('routing'),
    reports: unusable('reports'),
  });
  return listRoutes(app, { isObserver: (handler) => observers.has(handler) });
}

/** A stand-in that throws on any use, naming the dependency. */
function unusable<T>(name: string): T {
  const fail = (what: string): never => {
    throw new Error(`Listing the routes used the dependency ${name} (${what}); createApp must only register routes when it builds the app.`);
  };
  return new Proxy(function unusableDependency() {}, {
    get: (_target, property) => (property === 'then' ? undefined : fail(`.${String(property)}`)),
    apply: () => fail('called'),
  }) as T;
}
