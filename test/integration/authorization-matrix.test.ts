/**
 * The authorization matrix: every route of the gateway (listed from the app createApp builds, checked against
 * the route table, gateway/app/route-table.ts) x every principal x the principal's relation to the resource, sent to one real
 * gateway, every answer asserted against the policy table.
 *
 * Resources (config/examples/midi-pyrenees.yaml, Sunday 2026-11-22 02:10):
 *   A    a head CT from CH Saint-Girons (ariege), routed to the PDSES Ariège line (on call: 10009000011)
 *   B    a head CT from CH d'Albi (tarn), routed to the PDSES Tarn line
 *   C    a head CT from CH Saint-Girons sent with `expertise: neuroradiology`, routed to the neuroradiology pole
 *   O_A, O_B  second opinions asked to the neuroradiology pole about an A-like and a B-like study
 * Each resource has a shared instance (SCHEDULED), a held one (claimed by its reader) and, for the cells that
 * change state when allowed, fresh ones: a cell never depends on what another cell did.
 *
 * "hidden" is checked as the policy defines it: the answer is the one the same caller gets for a resource that
 * does not exist (same status, same problem code, same words once the identifiers are set aside), and a search
 * or list leaves the resource out.
 */
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../config/settings.ts';
import { expectedAccess, type Caller, type Expectation } from '../../gateway/app/route-access.ts';
import { ROUTE_TABLE, routeKey, type RouteEntry, type RouteKey } from '../../gateway/app/route-table.ts';
import { EMBEDDED_ALGORITHM, EMBEDDED_ISSUER, issueToken, loadOrCreateSigningKey } from '../../gateway/auth/embedded-signing-key.ts';
import type { Role } from '../../core/identity/roles.ts';
import { generateCtSeries, patientFor, SITES, type PatientProfile, type SiteProfile } from '../../test-data/generate-study.ts';
import { multipartRequest } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { compareRoutesWithTable, listGatewayRoutes } from '../support/route-listing.ts';

/** The entries of the route table, each named by its key (`GET /api/worklist/:id`) as the matrix prints it. */
type RoutePolicy = RouteEntry & { route: RouteKey };
const ROUTE_POLICIES: readonly RoutePolicy[] = ROUTE_TABLE.map((entry) => ({ ...entry, route: routeKey(entry) }));

const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';
const SAINT_GIRONS = '090000050';
const ALBI = '810000448';
const ALBI_PROFILE: SiteProfile = {
  institutionName: "CH d'Albi",
  stationName: 'ALBI-CT01',
  manufacturer: 'SIEMENS',
  manufacturerModelName: 'SOMATOM go.Top',
  issuerOfPatientID: 'CHALBI',
  accessionPrefix: 'AL',
};

// ---------------------------------------------------------------------------------------------------------------
// Resources and principals

type KindId = 'A' | 'B' | 'C' | 'O_A' | 'O_B';
type BaseKind = 'A' | 'B' | 'C';
type PrincipalId =
  | 'sender-saint-girons'
  | 'sender-albi'
  | 'reader-ariege'
  | 'reader-tarn'
  | 'reader-neuro-pole'
  | 'expert-neuro'
  | 'coordinator-ariege'
  | 'coordinator-tarn'
  | 'analyst'
  | 'admin'
  | 'no-token'
  | 'forged-signature'
  | 'expired-token'
  | 'wrong-audience';

interface KindSpec {
  site: string;
  territory: string;
  pool: string;
  /** Who holds the `held` instance (and, for A and B, asks the second opinions). */
  holder: PrincipalId;
  profile: SiteProfile;
  expertise?: 'neuroradiology';
  /** Second opinions: the kind of the exam they are asked about. */
  parent?: 'A' | 'B';
}

const KINDS: Record<KindId, KindSpec> = {
  A: { site: SAINT_GIRONS, territory: 'ariege', pool: 'pdses-ariege', holder: 'reader-ariege', profile: SITES['saint-girons'] },
  B: { site: ALBI, territory: 'tarn', pool: 'pdses-tarn', holder: 'reader-tarn', profile: ALBI_PROFILE },
  C: {
    site: SAINT_GIRONS,
    territory: 'ariege',
    pool: 'pole-neuroradiologie',
    holder: 'expert-neuro',
    profile: SITES['saint-girons'],
    expertise: 'neuroradiology',
  },
  O_A: { site: SAINT_GIRONS, territory: 'ariege', pool: 'pole-neuroradiologie', holder: 'expert-neuro', profile: SITES['saint-girons'], parent: 'A' },
  O_B: { site: ALBI, territory: 'tarn', pool: 'pole-neuroradiologie', holder: 'expert-neuro', profile: ALBI_PROFILE, parent: 'B' },
};

interface PrincipalSpec {
  id: PrincipalId;
  role?: Role;
  site?: string;
  rpps?: string;
  territory?: string;
  /** Readers and experts: the resources routed to them or to their pools (from the region configuration). */
  routed?: KindId[];
  invalid?: 'none' | 'forged' | 'expired' | 'audience';
}

const PRINCIPALS: PrincipalSpec[] = [
  { id: 'sender-saint-girons', role: 'sender', site: SAINT_GIRONS },
  { id: 'sender-albi', role: 'sender', site: ALBI },
  // On call on the Ariège line this weekend: A is assigned to them.
  { id: 'reader-ariege', role: 'reader', rpps: '10009000011', routed: ['A'] },
  // A member (the backup) of the Tarn line: B is in their pool, assigned to the other member.
  { id: 'reader-tarn', role: 'reader', rpps: '10081000019', routed: ['B'] },
  // A member of the neuroradiology pole whose token says reader: sees the pole's items by membership.
  { id: 'reader-neuro-pole', role: 'reader', rpps: '10031000101', routed: ['C', 'O_A', 'O_B'] },
  { id: 'expert-neuro', role: 'expert', rpps: '10031000119', routed: ['C', 'O_A', 'O_B'] },
  { id: 'coordinator-ariege', role: 'coordinator', territory: 'ariege' },
  { id: 'coordinator-tarn', role: 'coordinator', territory: 'tarn' },
  { id: 'analyst', role: 'analyst' },
  { id: 'admin', role: 'admin' },
  { id: 'no-token', invalid: 'none' },
  { id: 'forged-signature', invalid: 'forged' },
  { id: 'expired-token', invalid: 'expired' },
  { id: 'wrong-audience', invalid: 'audience' },
];
const principalById = new Map(PRINCIPALS.map((p) => [p.id, p]));

function callerOf(principal: PrincipalSpec, kind: KindId): Caller {
  if (principal.invalid || !principal.role) return { authenticated: false };
  const spec = KINDS[kind];
  switch (principal.role) {
    case 'sender':
      return { authenticated: true, role: 'sender', relation: principal.site === spec.site ? 'own-site' : 'other-site' };
    case 'reader':
    case 'expert':
      return { authenticated: true, role: principal.role, relation: principal.routed?.includes(kind) ? 'routed' : 'not-routed' };
    case 'coordinator':
      return { authenticated: true, role: 'coordinator', relation: principal.territory === spec.territory ? 'own-territory' : 'other-territory' };
    default:
      return { authenticated: true, role: principal.role, relation: 'any' };
  }
}

/**
 * A `reported` item is COMPLETED (signing completes it): only its assignee, the holder who signed, is still
 * `routed`; its pool's other members are not (ASTREINTE_POOL_ACCESS_AFTER_COMPLETION_HOURS is 0 here).
 */
function callerOfCompleted(principal: PrincipalSpec, kind: KindId): Caller {
  const caller = callerOf(principal, kind);
  if (!caller.authenticated || (caller.role !== 'reader' && caller.role !== 'expert')) return caller;
  return { ...caller, relation: principal.id === KINDS[kind].holder ? 'routed' : 'not-routed' };
}

function relationText(caller: Caller): string {
  return caller.authenticated ? caller.relation : 'no valid token';
}

// ---------------------------------------------------------------------------------------------------------------
// Targets: one stored study and its worklist item

interface Target {
  kind: KindId;
  study: string;
  series: string;
  instance: string;
  itemId: string;
  assignee: string | null;
  patient: { id: string; issuer: string };
  profile: SiteProfile;
  patientProfile: PatientProfile;
  bulkDataPath: string;
  /** `reported` instances: the report its holder signed. */
  reportId?: string;
}

/** `reported`: an item of the kind whose report its holder signed while the world was built (shared, read-only but for addenda). */
type Variant = 'shared' | 'held' | 'fresh' | 'reported';

function ghostOf(target: Target): Target {
  const uid = () => `2.25.${BigInt(`0x${randomBytes(15).toString('hex')}`).toString(10)}`;
  return {
    ...target,
    study: uid(),
    series: uid(),
    instance: uid(),
    itemId: randomUUID(),
    reportId: target.reportId === undefined ? undefined : randomUUID(),
    patient: { id: `GHOST${randomBytes(4).toString('hex')}`, issuer: target.patient.issuer },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Req {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

let gw: GatewayProcess;
const tokens = new Map<PrincipalId, string | undefined>();

async function send(principal: PrincipalId, req: Req): Promise<Answer> {
  const headers: Record<string, string> = { ...req.headers };
  const token = tokens.get(principal);
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | Buffer | undefined = req.body;
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  }
  const res = await fetch(`${gw.url}${req.path}`, { method: req.method, headers, body });
  const text = Buffer.from(await res.arrayBuffer()).toString('latin1');
  let json: unknown;
  if (/json/.test(res.headers.get('content-type') ?? '')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, text, json };
}

function problemOf(answer: Answer): { code?: string; detail?: string } {
  return (answer.json ?? {}) as { code?: string; detail?: string };
}

async function expectOk(what: string, answer: Promise<Answer>): Promise<Answer> {
  const a = await answer;
  if (a.status >= 300) throw new Error(`${what}: HTTP ${a.status} ${a.text.slice(0, 300)}`);
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// Probes: how each route is exercised

interface Cell {
  route: RouteKey;
  policy: RoutePolicy;
  principal: PrincipalSpec;
  kind: KindId;
  caller: Caller;
  expected: Expectation;
  variant: Variant;
  /** Index among the fresh instances of the kind. */
  fresh?: number;
  got?: string;
}

interface Probe {
  kinds: readonly KindId[];
  /** True when an allowed request changes state: its cells run one at a time. */
  mutates?: boolean;
  variant?: (cell: Pick<Cell, 'principal' | 'caller'>) => Variant;
  /** Before the request, on the cell's own fresh or shared instance. */
  prepare?: (cell: Cell, target: Target) => Promise<void>;
  request: (target: Target, cell: Cell) => Req;
  /** Searches and lists: whether a 2xx answer lists the target. */
  lists?: (answer: Answer, target: Target) => boolean;
  /** Runs every cell of the route at once (live event streams). */
  runAll?: (cells: Cell[]) => Promise<void>;
}

const study = (t: Target) => `/dicomweb/studies/${t.study}`;
const series = (t: Target) => `${study(t)}/series/${t.series}`;
const instance = (t: Target) => `${series(t)}/instances/${t.instance}`;
const get = (p: string): Req => ({ method: 'GET', path: p });
const post = (p: string, json: unknown = {}): Req => ({ method: 'POST', path: p, json });
const mentions = (answer: Answer, t: Target) => answer.text.includes(t.study) || answer.text.includes(t.series);
const listsItem = (answer: Answer, t: Target) =>
  ((answer.json as { items?: { id: string }[] } | undefined)?.items ?? []).some((i) => i.id === t.itemId);

/** Claims and holder actions: a reader or expert the item is routed to works on an instance of their own. */
const holderVariant =
  (otherwise: Variant) =>
  (cell: Pick<Cell, 'principal' | 'caller'>): Variant =>
    cell.caller.authenticated && cell.caller.relation === 'routed' ? 'fresh' : otherwise;

const claimAsCaller = async (cell: Cell, target: Target) => {
  if (cell.variant !== 'fresh') return;
  const claimed = await send(cell.principal.id, post(`/api/worklist/${target.itemId}/claim`));
  if (claimed.status !== 200) throw new PrepareFailed(`claiming the item first answered ${claimed.status} ${problemOf(claimed).code ?? ''}`);
};

class PrepareFailed extends Error {}

let stowSerial = 0;
function stowRequest(t: Target, into: boolean): Req {
  const [part] = generateCtSeries({
    kind: 'ct-head',
    slices: 1,
    rows: 16,
    columns: 16,
    seed: `matrix-stow-${stowSerial++}`,
    studyInstanceUID: t.study,
    site: t.profile,
    patient: t.patientProfile,
  });
  const { body, contentType } = multipartRequest([part]);
  return {
    method: 'POST',
    path: into ? study(t) : '/dicomweb/studies',
    body,
    headers: { 'content-type': contentType, accept: 'application/dicom+json' },
  };
}

/** The web app's main script as built in viewer/dist (the page's files are public). */
function viewerScript(): string {
  const name = readdirSync(path.join(import.meta.dirname, '../../viewer/dist/assets')).find((file) => /^index-[\w-]+\.js$/.test(file));
  if (!name) throw new Error('viewer/dist is not built: run npm run build');
  return name;
}

const dicomweb = ['A', 'B', 'C'] as const;
/** A report complete enough to be signed. */
const MATRIX_REPORT = { template: 'general', indication: 'Matrice des autorisations.', findings: 'Sans particularité.', conclusion: 'Examen normal.' };
const images = (request: (t: Target) => Req, lists?: Probe['lists']): Probe => ({ kinds: dicomweb, request, lists });

/** Study -> a send to a DICOM peer an administrator made (prepared for GET /api/sends/:id). */
const sendIds = new Map<string, string>();

const PROBES: Record<string, Probe> = {
  'GET /healthz': { kinds: ['A'], request: () => get('/healthz') },
  'GET /readyz': { kinds: ['A'], request: () => get('/readyz') },
  'GET /metrics': { kinds: ['A'], request: () => get('/metrics') },

  'GET /': { kinds: ['A'], request: () => get('/') },
  'GET /sign-in': { kinds: ['A'], request: () => get('/sign-in') },
  'GET /sign-in/callback': { kinds: ['A'], request: () => get('/sign-in/callback') },
  'GET /api/sign-in/config': { kinds: ['A'], request: () => get('/api/sign-in/config') },
  'GET /api/me': { kinds: ['A'], request: () => get('/api/me') },
  'GET /studies/:study': { kinds: dicomweb, request: (t) => get(`/studies/${t.study}`) },
  'GET /dashboard': { kinds: ['A'], request: () => get('/dashboard') },
  'GET /assets/*path': { kinds: ['A'], request: () => get(`/assets/${viewerScript()}`) },
  'GET /api/sign-in/people': { kinds: ['A'], request: () => get('/api/sign-in/people') },
  'POST /api/sign-in': { kinds: ['A'], request: () => post('/api/sign-in', { id: 'reader:10009000011' }) },

  'POST /dicomweb/studies': { kinds: dicomweb, mutates: true, request: (t) => stowRequest(t, false) },
  'POST /dicomweb/studies/:study': { kinds: dicomweb, mutates: true, request: (t) => stowRequest(t, true) },

  'GET /dicomweb/studies': images((t) => get(`/dicomweb/studies?StudyInstanceUID=${t.study}`), mentions),
  'GET /dicomweb/series': images((t) => get(`/dicomweb/series?StudyInstanceUID=${t.study}`), mentions),
  'GET /dicomweb/instances': images((t) => get(`/dicomweb/instances?StudyInstanceUID=${t.study}`), mentions),
  'GET /dicomweb/studies/:study/series': images((t) => get(`${study(t)}/series`), mentions),
  'GET /dicomweb/studies/:study/instances': images((t) => get(`${study(t)}/instances`), mentions),
  'GET /dicomweb/studies/:study/series/:series/instances': images((t) => get(`${series(t)}/instances`), mentions),

  'GET /dicomweb/studies/:study': images((t) => get(study(t))),
  'GET /dicomweb/studies/:study/series/:series': images((t) => get(series(t))),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance': images((t) => get(instance(t))),
  'GET /dicomweb/studies/:study/metadata': images((t) => get(`${study(t)}/metadata`)),
  'GET /dicomweb/studies/:study/series/:series/metadata': images((t) => get(`${series(t)}/metadata`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/metadata': images((t) => get(`${instance(t)}/metadata`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames': images((t) => get(`${instance(t)}/frames/1`)),
  'GET /dicomweb/studies/:study/pixeldata': images((t) => get(`${study(t)}/pixeldata`)),
  'GET /dicomweb/studies/:study/series/:series/pixeldata': images((t) => get(`${series(t)}/pixeldata`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/pixeldata': images((t) => get(`${instance(t)}/pixeldata`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/bulkdata/*path': images((t) =>
    get(`${instance(t)}/bulkdata/${t.bulkDataPath}`),
  ),
  'GET /dicomweb/studies/:study/rendered': images((t) => get(`${study(t)}/rendered`)),
  'GET /dicomweb/studies/:study/series/:series/rendered': images((t) => get(`${series(t)}/rendered`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/rendered': images((t) => get(`${instance(t)}/rendered`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/rendered': images((t) => get(`${instance(t)}/frames/1/rendered`)),
  'GET /dicomweb/studies/:study/thumbnail': images((t) => get(`${study(t)}/thumbnail`)),
  'GET /dicomweb/studies/:study/series/:series/thumbnail': images((t) => get(`${series(t)}/thumbnail`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/thumbnail': images((t) => get(`${instance(t)}/thumbnail`)),
  'GET /dicomweb/studies/:study/series/:series/instances/:instance/frames/:frames/thumbnail': images((t) => get(`${instance(t)}/frames/1/thumbnail`)),

  'GET /api/worklist': { kinds: dicomweb, request: () => get('/api/worklist?limit=2000'), lists: listsItem },
  'GET /api/worklist/events': { kinds: dicomweb, request: () => get('/api/worklist/events'), runAll: (cells) => runEventCells(cells) },
  'GET /api/worklist/:id': { kinds: dicomweb, request: (t) => get(`/api/worklist/${t.itemId}`) },
  'POST /api/worklist/:id/claim': {
    kinds: dicomweb,
    mutates: true,
    variant: holderVariant('shared'),
    request: (t) => post(`/api/worklist/${t.itemId}/claim`),
  },
  'POST /api/worklist/:id/release': {
    kinds: dicomweb,
    mutates: true,
    variant: holderVariant('held'),
    prepare: claimAsCaller,
    request: (t) => post(`/api/worklist/${t.itemId}/release`, { reason: 'authorization matrix' }),
  },
  'POST /api/worklist/:id/reassign': {
    kinds: dicomweb,
    mutates: true,
    // To the reader it is assigned to already: an allowed reassignment changes nobody's list.
    request: (t) => post(`/api/worklist/${t.itemId}/reassign`, { assignee: t.assignee, reason: 'authorization matrix' }),
  },
  'POST /api/worklist/:id/second-opinion': {
    kinds: dicomweb,
    mutates: true,
    variant: holderVariant('held'),
    prepare: claimAsCaller,
    request: (t) =>
      post(`/api/worklist/${t.itemId}/second-opinion`, {
        pool: t.kind === 'C' ? 'pole-cardiovasculaire' : 'pole-neuroradiologie',
        question: 'Authorization matrix: is this a question the caller may ask?',
      }),
  },
  'POST /api/worklist/:id/answer': {
    kinds: ['O_A', 'O_B'],
    mutates: true,
    variant: holderVariant('held'),
    prepare: claimAsCaller,
    request: (t) => post(`/api/worklist/${t.itemId}/answer`, { outcome: { transferAdvised: false }, comment: 'authorization matrix' }),
  },
  'POST /api/worklist/:id/incidents': {
    kinds: dicomweb,
    mutates: true,
    request: (t) => post(`/api/worklist/${t.itemId}/incidents`, { category: 'other', description: 'authorization matrix probe' }),
  },
  'GET /api/worklist/:id/report': { kinds: dicomweb, request: (t) => get(`/api/worklist/${t.itemId}/report`) },
  'POST /api/worklist/:id/report': {
    kinds: dicomweb,
    mutates: true,
    variant: holderVariant('held'),
    prepare: claimAsCaller,
    request: (t) => post(`/api/worklist/${t.itemId}/report`, { content: MATRIX_REPORT }),
  },
  'POST /api/worklist/:id/report/sign': {
    kinds: dicomweb,
    mutates: true,
    variant: holderVariant('held'),
    prepare: claimAsCaller,
    request: (t) => post(`/api/worklist/${t.itemId}/report/sign`, { content: MATRIX_REPORT }),
  },
  'POST /api/reports/:id/addenda': {
    kinds: dicomweb,
    mutates: true,
    variant: () => 'reported',
    request: (t) => post(`/api/reports/${t.reportId}/addenda`, { content: MATRIX_REPORT, reason: 'authorization matrix' }),
  },
  'GET /api/reports/:id': { kinds: dicomweb, variant: () => 'reported', request: (t) => get(`/api/reports/${t.reportId}`) },
  'GET /api/keys': { kinds: ['A'], request: () => get('/api/keys') },
  'GET /api/indicators': { kinds: ['A', 'B'], request: (t) => get(`/api/indicators?site=${KINDS[t.kind].site}&from=2026-11-01&to=2026-12-01`) },
  'POST /api/studies/:study/complete': { kinds: dicomweb, mutates: true, request: (t) => post(`/api/studies/${t.study}/complete`) },
  'POST /api/studies/:study/send': { kinds: dicomweb, mutates: true, request: (t) => post(`/api/studies/${t.study}/send`, { peer: 'pacs-chu-purpan' }) },
  'GET /api/studies/:study/sends': { kinds: dicomweb, request: (t) => get(`/api/studies/${t.study}/sends`) },
  'GET /api/sends/:id': {
    kinds: ['A'],
    prepare: async (_cell, t) => {
      if (sendIds.has(t.study)) return;
      const sent = await send('admin', post(`/api/studies/${t.study}/send`, { peer: 'pacs-chu-purpan' }));
      if (sent.status !== 202) throw new PrepareFailed(`the administrator's send answered ${sent.status} ${problemOf(sent).code ?? ''}`);
      sendIds.set(t.study, (sent.json as { id: string }).id);
    },
    request: (t) => get(`/api/sends/${sendIds.get(t.study) ?? '999999999'}`),
  },
  'GET /api/studies/:study/routing': { kinds: dicomweb, request: (t) => get(`/api/studies/${t.study}/routing`) },
  'POST /api/oppositions': {
    kinds: ['A', 'B'],
    mutates: true,
    request: (t) => post('/api/oppositions', { patientId: t.patient.id, issuer: t.patient.issuer, reason: 'authorization matrix' }),
  },
  'POST /api/oppositions/lift': {
    kinds: ['A', 'B'],
    mutates: true,
    // The relation is the objection's territory: recorded afresh by the coordination of the target's territory.
    prepare: async (_cell, t) => {
      await send('admin', post('/api/oppositions/lift', { patientId: t.patient.id, issuer: t.patient.issuer }));
      const recorder = `coordinator-${KINDS[t.kind].territory}` as PrincipalId;
      await expectOk('recording the opposition to lift', send(recorder, post('/api/oppositions', { patientId: t.patient.id, issuer: t.patient.issuer })));
    },
    request: (t) => post('/api/oppositions/lift', { patientId: t.patient.id, issuer: t.patient.issuer }),
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Judging an answer

async function observe(probe: Probe, cell: Cell, target: Target): Promise<string> {
  try {
    await probe.prepare?.(cell, target);
  } catch (error) {
    if (error instanceof PrepareFailed) return `not exercised: ${error.message}`;
    throw error;
  }
  const answer = await send(cell.principal.id, probe.request(target, cell));
  return classify(probe, cell, target, answer);
}

async function classify(probe: Probe, cell: Cell, target: Target, answer: Answer): Promise<string> {
  const { status } = answer;
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status >= 200 && status < 300) {
    if (!probe.lists || probe.lists(answer, target)) return 'allow';
    return (await sameAsMissing(probe, cell, target, answer)) ? 'hidden' : `${status}, without the resource but unlike a missing one`;
  }
  if (status === 404) {
    if (problemOf(answer).detail?.startsWith('No resource at')) return '404 no such route';
    return (await sameAsMissing(probe, cell, target, answer)) ? 'hidden' : `404 unlike a missing resource (${problemOf(answer).code})`;
  }
  if (status === 409 && isStowRefusal(answer)) return 'refused';
  return `${status} ${problemOf(answer).code ?? ''}`.trim();
}

/** The same caller asking for a resource that does not exist gets the same answer, identifiers aside. */
async function sameAsMissing(probe: Probe, cell: Cell, target: Target, answer: Answer): Promise<boolean> {
  const ghost = ghostOf(target);
  const other = await send(cell.principal.id, probe.request(ghost, cell));
  if (other.status !== answer.status) return false;
  if (probe.lists) return !probe.lists(other, ghost);
  const words = (a: Answer, t: Target) => {
    let detail = problemOf(a).detail ?? '';
    for (const id of [t.study, t.series, t.instance, t.itemId, t.patient.id, t.reportId ?? t.itemId]) detail = detail.replaceAll(id, '<id>');
    return `${problemOf(a).code} ${detail}`;
  };
  return words(answer, target) === words(other, ghost);
}

function isStowRefusal(answer: Answer): boolean {
  const body = answer.json as Record<string, { Value?: Record<string, { Value?: unknown[] }>[] }> | undefined;
  const failed = body?.['00081198']?.Value ?? [];
  return failed.length > 0 && failed.every((item) => item['00081197']?.Value?.[0] === 0x0124);
}

/** Opens every principal's stream, records an incident on A, B and C, and looks at who heard of which. */
async function runEventCells(cells: Cell[]): Promise<void> {
  const streams = new Map<PrincipalId, EventStream>();
  for (const principal of new Set(cells.map((c) => c.principal.id))) streams.set(principal, await openEventStream(principal));
  const watcher = await openEventStream('admin');
  try {
    const targets = dicomweb.map((kind) => world.shared(kind));
    for (const t of targets) {
      await expectOk('recording an incident', send('admin', post(`/api/worklist/${t.itemId}/incidents`, { category: 'other', description: 'live events probe' })));
    }
    const deadline = Date.now() + 5_000;
    while (!targets.every((t) => watcher.items.has(t.itemId)) && Date.now() < deadline) await sleep(25);
    await sleep(300);
    for (const cell of cells) {
      const stream = streams.get(cell.principal.id)!;
      if (stream.status === 401) cell.got = 'unauthenticated';
      else if (stream.status === 403) cell.got = 'forbidden';
      else if (stream.status !== 200) cell.got = `${stream.status}`;
      else cell.got = stream.items.has(world.shared(cell.kind).itemId) ? 'allow' : 'hidden';
    }
  } finally {
    for (const s of [...streams.values(), watcher]) s.close();
  }
}

interface EventStream {
  status: number;
  items: Set<string>;
  close(): void;
}

async function openEventStream(principal: PrincipalId): Promise<EventStream> {
  const controller = new AbortController();
  const token = tokens.get(principal);
  const res = await fetch(`${gw.url}/api/worklist/events`, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: controller.signal,
  });
  const items = new Set<string>();
  const close = () => controller.abort();
  if (res.status !== 200) {
    await res.text();
    return { status: res.status, items, close };
  }
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  void (async () => {
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += Buffer.from(chunk).toString('utf8');
      if (buffer.includes(': connected')) connected();
      for (const line of buffer.split('\n').slice(0, -1)) {
        if (line.startsWith('data:')) {
          const data = JSON.parse(line.slice(5)) as { itemId?: string };
          if (data.itemId) items.add(data.itemId);
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    }
  })().catch(() => undefined);
  await Promise.race([ready, sleep(5_000)]);
  return { status: res.status, items, close };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// The world: the stored studies and items every cell runs on

interface World {
  shared(kind: KindId): Target;
  held(kind: KindId): Target;
  fresh(kind: KindId, index: number): Target;
  reported(kind: KindId): Target;
  /** Every item whose state refused changes must leave as it was: id -> status and assignee. */
  untouchable: Map<string, { status: string; assignee: string | null; label: string }>;
}

let world: World;

interface WorklistItem {
  id: string;
  studyInstanceUID: string;
  status: string;
  pool: string;
  assignee: string | null;
  kind: string;
}

function planCells(): Cell[] {
  const cells: Cell[] = [];
  const freshCount = new Map<KindId, number>();
  for (const policy of ROUTE_POLICIES) {
    const probe = PROBES[policy.route];
    if (!probe) continue;
    for (const principal of PRINCIPALS) {
      for (const kind of probe.kinds) {
        const variant = probe.variant?.({ principal, caller: callerOf(principal, kind) }) ?? 'shared';
        const caller = variant === 'reported' ? callerOfCompleted(principal, kind) : callerOf(principal, kind);
        const cell: Cell = { route: policy.route, policy, principal, kind, caller, expected: expectedAccess(policy, caller), variant };
        if (variant === 'fresh') {
          cell.fresh = freshCount.get(kind) ?? 0;
          freshCount.set(kind, cell.fresh + 1);
        }
        cells.push(cell);
      }
    }
  }
  return cells;
}

/** How many studies of each base kind the plan needs: shared, held and fresh instances, and the exams second opinions are about. */
function studiesNeeded(cells: Cell[]): Map<KindId, { held: boolean; fresh: number; reported: boolean }> {
  const needs = new Map<KindId, { held: boolean; fresh: number; reported: boolean }>();
  for (const kind of Object.keys(KINDS) as KindId[]) needs.set(kind, { held: false, fresh: 0, reported: false });
  for (const cell of cells) {
    const need = needs.get(cell.kind)!;
    if (cell.variant === 'held') need.held = true;
    if (cell.variant === 'reported') need.reported = true;
    if (cell.variant === 'fresh') need.fresh = Math.max(need.fresh, cell.fresh! + 1);
  }
  return needs;
}

interface SeededStudy {
  kind: BaseKind;
  target: Omit<Target, 'itemId' | 'assignee' | 'bulkDataPath'>;
  part: Buffer;
}

function seedStudy(kind: BaseKind, n: number): SeededStudy {
  const spec = KINDS[kind];
  const seed = `matrix-${kind}-${n}`;
  const patientProfile = patientFor(seed);
  const [part] = generateCtSeries({ kind: 'ct-head', slices: 1, rows: 32, columns: 32, seed, site: spec.profile, patient: patientProfile });
  const dataset = dicomParser.parseDicom(part, { untilTag: 'x7fe00010' });
  return {
    kind,
    part,
    target: {
      kind,
      study: dataset.string('x0020000d')!,
      series: dataset.string('x0020000e')!,
      instance: dataset.string('x00080018')!,
      patient: { id: patientProfile.id, issuer: spec.profile.issuerOfPatientID },
      profile: spec.profile,
      patientProfile,
    },
  };
}

async function buildWorld(cells: Cell[]): Promise<World> {
  const needs = studiesNeeded(cells);
  // Base studies: one shared and one held of each kind, the fresh ones, and one exam per second opinion.
  const count = (kind: BaseKind) => {
    const own = needs.get(kind)!;
    const opinions = (Object.keys(KINDS) as KindId[]).filter((k) => KINDS[k].parent === kind).map((k) => needs.get(k)!);
    return 2 + own.fresh + (own.reported ? 1 : 0) + opinions.reduce((sum, o) => sum + (o.held ? 1 : 0) + o.fresh, 0);
  };
  const seeded: Record<BaseKind, SeededStudy[]> = { A: [], B: [], C: [] };
  for (const kind of dicomweb) for (let n = 0; n < count(kind); n++) seeded[kind].push(seedStudy(kind, n));

  const stowAll = async (sender: PrincipalId, studies: SeededStudy[]) => {
    const { body, contentType } = multipartRequest(studies.map((s) => s.part));
    await expectOk(`seeding ${studies.length} studies as ${sender}`, send(sender, { method: 'POST', path: '/dicomweb/studies', body, headers: { 'content-type': contentType } }));
  };
  await Promise.all([stowAll('sender-saint-girons', [...seeded.A, ...seeded.C]), stowAll('sender-albi', seeded.B)]);
  // Declared complete with the expertise before they turn stable on their own (3 s), which would route them to
  // the on-call radiologist without it (on a loaded machine, one call after the other took longer than 1 s).
  await Promise.all(
    seeded.C.map((s) =>
      expectOk('asking for neuroradiology expertise', send('sender-saint-girons', post(`/api/studies/${s.target.study}/complete`, { expertise: 'neuroradiology' }))),
    ),
  );

  // Routing runs once each study is stable (3 s): wait for one item per study.
  const all = [...seeded.A, ...seeded.B, ...seeded.C];
  let items = new Map<string, WorklistItem>();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const list = await expectOk('listing the worklist as admin', send('admin', get('/api/worklist?limit=2000')));
    items = new Map((list.json as { items: WorklistItem[] }).items.filter((i) => i.kind === 'read').map((i) => [i.studyInstanceUID, i]));
    if (all.every((s) => items.has(s.target.study))) break;
    await sleep(200);
  }
  const targets: Record<BaseKind, Target[]> = { A: [], B: [], C: [] };
  for (const s of all) {
    const item = items.get(s.target.study);
    if (!item) throw new Error(`study ${s.kind} ${s.target.study} was not routed within 20 s`);
    if (item.pool !== KINDS[s.kind].pool || item.assignee === null) {
      throw new Error(`study ${s.kind} went to ${item.pool} (assignee ${item.assignee}), not to ${KINDS[s.kind].pool} with someone on call: the resources of the matrix are not what its relations say`);
    }
    targets[s.kind].push({ ...s.target, itemId: item.id, assignee: item.assignee, bulkDataPath: '' });
  }
  // Bulk data paths, as the metadata gives them.
  for (const kind of dicomweb) {
    const t = targets[kind][0];
    const sender = KINDS[kind].site === SAINT_GIRONS ? 'sender-saint-girons' : 'sender-albi';
    const metadata = await expectOk('reading metadata', send(sender, get(`${instance(t)}/metadata`)));
    const uri = (metadata.json as { '7FE00010'?: { BulkDataURI?: string } }[])[0]['7FE00010']?.BulkDataURI ?? '';
    t.bulkDataPath = uri.slice(uri.indexOf('/bulkdata/') + '/bulkdata/'.length);
    if (!uri) throw new Error(`no BulkDataURI for the pixel data of ${kind}`);
  }

  const claim = async (who: PrincipalId, t: Target) =>
    expectOk(`claiming ${t.kind} as ${who}`, send(who, post(`/api/worklist/${t.itemId}/claim`)));
  const untouchable: World['untouchable'] = new Map();
  const instances = new Map<KindId, { shared?: Target; held?: Target; fresh: Target[]; reported?: Target }>();
  const take = (kind: BaseKind) => targets[kind].shift()!;

  for (const kind of dicomweb) {
    const shared = take(kind);
    const held = take(kind);
    await claim(KINDS[kind].holder, held);
    untouchable.set(shared.itemId, { status: 'SCHEDULED', assignee: shared.assignee, label: `${kind} shared` });
    const holderRpps = principalById.get(KINDS[kind].holder)!.rpps!;
    untouchable.set(held.itemId, { status: 'IN PROGRESS', assignee: holderRpps, label: `${kind} held` });
    instances.set(kind, { shared, held: { ...held, assignee: holderRpps }, fresh: Array.from({ length: needs.get(kind)!.fresh }, () => take(kind)) });
    if (needs.get(kind)!.reported) {
      const reported = take(kind);
      await claim(KINDS[kind].holder, reported);
      const signed = await expectOk(
        `signing the report of ${kind} as its holder`,
        send(KINDS[kind].holder, post(`/api/worklist/${reported.itemId}/report/sign`, { content: MATRIX_REPORT })),
      );
      instances.get(kind)!.reported = { ...reported, assignee: holderRpps, reportId: (signed.json as { id: string }).id };
    }
  }
  for (const kind of ['O_A', 'O_B'] as const) {
    const parentKind = KINDS[kind].parent!;
    const ask = async (): Promise<Target> => {
      const exam = take(parentKind);
      const asker = KINDS[parentKind].holder;
      await claim(asker, exam);
      const asked = await expectOk(
        'asking the neuroradiology pole',
        send(asker, post(`/api/worklist/${exam.itemId}/second-opinion`, { pool: 'pole-neuroradiologie', question: 'Matrix: second look?' })),
      );
      const item = (asked.json as { item: WorklistItem }).item;
      return { ...exam, kind, itemId: item.id, assignee: item.assignee };
    };
    const need = needs.get(kind)!;
    const entry: { held?: Target; fresh: Target[] } = { fresh: [] };
    if (need.held) {
      entry.held = await ask();
      await claim(KINDS[kind].holder, entry.held);
      untouchable.set(entry.held.itemId, { status: 'IN PROGRESS', assignee: principalById.get(KINDS[kind].holder)!.rpps!, label: `${kind} held` });
    }
    for (let n = 0; n < need.fresh; n++) entry.fresh.push(await ask());
    instances.set(kind, entry);
  }

  const pick = (kind: KindId, variant: Variant, index = 0): Target => {
    const entry = instances.get(kind)!;
    const t = variant === 'fresh' ? entry.fresh[index] : entry[variant];
    if (!t) throw new Error(`no ${variant} instance of ${kind} was seeded`);
    return t;
  };
  return {
    shared: (kind) => pick(kind, 'shared'),
    held: (kind) => pick(kind, 'held'),
    fresh: (kind, index) => pick(kind, 'fresh', index),
    reported: (kind) => pick(kind, 'reported'),
    untouchable,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

async function issueTokens(): Promise<void> {
  const settings = loadSettings(gw.env);
  if (settings.auth.kind !== 'embedded') throw new Error('the matrix needs the embedded token issuer');
  const audience = settings.auth.audience;
  const key = await loadOrCreateSigningKey(path.join(gw.dataDir, 'keys'));
  const now = Math.floor(Date.now() / 1000);
  for (const p of PRINCIPALS) {
    if (p.role) {
      const user = p.rpps ?? `${p.id}-matrix`;
      tokens.set(p.id, await issueToken(key, { role: p.role, site: p.site, rpps: p.rpps, territory: p.territory, user, audience }));
    }
  }
  /** An administrator's token, signed with `signingKey`, valid from `from` to `to` (seconds since the epoch). */
  const adminToken = (signingKey: CryptoKey, from: number, to: number) =>
    new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: EMBEDDED_ALGORITHM, kid: key.kid, typ: 'JWT' })
      .setIssuer(EMBEDDED_ISSUER)
      .setAudience(audience)
      .setSubject('admin-matrix')
      .setIssuedAt(from)
      .setExpirationTime(to)
      .setJti(randomUUID())
      .sign(signingKey);
  const { privateKey: otherKey } = await generateKeyPair(EMBEDDED_ALGORITHM);
  tokens.set('forged-signature', await adminToken(otherKey, now, now + 600));
  tokens.set('expired-token', await adminToken(key.privateKey, now - 7_200, now - 3_600));
  tokens.set('wrong-audience', await issueToken(key, { role: 'admin', audience: 'another-service', user: 'admin-matrix' }));
  tokens.set('no-token', undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// Running and printing

async function runCells(cells: Cell[]): Promise<void> {
  for (const policy of ROUTE_POLICIES) {
    const probe = PROBES[policy.route];
    const mine = cells.filter((c) => c.route === policy.route);
    if (!probe || mine.length === 0) continue;
    if (probe.runAll) {
      await probe.runAll(mine);
      continue;
    }
    const targetOf = (cell: Cell) =>
      cell.variant === 'fresh'
        ? world.fresh(cell.kind, cell.fresh!)
        : cell.variant === 'held'
          ? world.held(cell.kind)
          : cell.variant === 'reported'
            ? world.reported(cell.kind)
            : world.shared(cell.kind);
    const runOne = async (cell: Cell) => {
      cell.got = await observe(probe, cell, targetOf(cell));
    };
    if (probe.mutates) {
      for (const cell of mine) await runOne(cell);
    } else {
      for (let i = 0; i < mine.length; i += 8) await Promise.all(mine.slice(i, i + 8).map(runOne));
    }
  }
}

function renderMatrix(cells: Cell[]): string {
  const lines: string[] = [];
  const routeWidth = Math.max(...ROUTE_POLICIES.map((p) => p.route.length));
  const principalWidth = Math.max(...PRINCIPALS.map((p) => p.id.length));
  for (const policy of ROUTE_POLICIES) {
    for (const principal of PRINCIPALS) {
      const row = cells.filter((c) => c.route === policy.route && c.principal === principal);
      if (row.length === 0) continue;
      const parts = row.map((c) =>
        c.got === c.expected
          ? `${c.kind} ${c.expected}`
          : `${c.kind} ✗ expected ${c.expected} (${relationText(c.caller)}), got ${c.got ?? 'nothing'}`,
      );
      lines.push(`${policy.route.padEnd(routeWidth)}  ${principal.id.padEnd(principalWidth)}  ${parts.join(' | ')}`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

describe('authorization matrix: every route x principal x relation, on a real gateway', () => {
  let cells: Cell[] = [];

  beforeAll(async () => {
    gw = await startGateway({ env: { ASTREINTE_NOW: SUNDAY_0210, ASTREINTE_STABILITY_SECONDS: '3', RATE_LIMIT_RPS: '0' } });
    await issueTokens();
    cells = planCells();
    world = await buildWorld(cells);
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('has an entry for every route of the app, a route for every entry, and a probe for both', () => {
    const routes = listGatewayRoutes();
    const comparison = compareRoutesWithTable(routes, ROUTE_TABLE);
    expect(comparison.notInTable, 'routes without an entry in gateway/app/route-table.ts').toEqual([]);
    expect(comparison.notMounted, 'entries of routes the app does not have').toEqual([]);
    expect(comparison.duplicated, 'routes with two entries').toEqual([]);
    const unprobed = ROUTE_POLICIES.map((p) => p.route).filter((r) => !PROBES[r]);
    expect(unprobed, 'routes this test does not know how to call: add a probe').toEqual([]);
    expect(Object.keys(PROBES).filter((r) => !ROUTE_POLICIES.some((p) => p.route === r)), 'probes of unknown routes').toEqual([]);
  });

  it('answers each cell as the policy says', async () => {
    const started = Date.now();
    await runCells(cells);
    const wrong = cells.filter((c) => c.got !== c.expected);
    const summary = `${cells.length} cells, ${new Set(cells.map((c) => c.route)).size} routes, ${PRINCIPALS.length} principals, ${wrong.length} wrong, ${Date.now() - started} ms`;
    if (wrong.length > 0) console.log(`Authorization matrix (${summary}):\n${renderMatrix(cells)}`);
    else console.log(`Authorization matrix: ${summary}`);
    expect(
      wrong.map((c) => `${c.route}  ${c.principal.id} on ${c.kind} (${relationText(c.caller)}): expected ${c.expected}, got ${c.got}`),
    ).toEqual([]);
  });

  it('left the items of refused changes as they were', async () => {
    const changed: string[] = [];
    for (const [id, before] of world.untouchable) {
      const now = await expectOk('reading an item as admin', send('admin', get(`/api/worklist/${id}`)));
      const { item, secondOpinions } = now.json as { item: WorklistItem; secondOpinions: unknown[] };
      if (item.status !== before.status || item.assignee !== before.assignee) {
        changed.push(`${before.label}: ${before.status}/${before.assignee} became ${item.status}/${item.assignee}`);
      }
      if (before.label.endsWith('held') && !before.label.startsWith('O') && secondOpinions.length > 0) {
        changed.push(`${before.label}: a second opinion was asked by someone who may not`);
      }
    }
    expect(changed).toEqual([]);
  });
});
