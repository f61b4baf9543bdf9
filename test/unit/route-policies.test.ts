import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AuditDescribe, AuditDescriptor, RequestAuditor } from '../../gateway/account/audit-middleware.ts';
import { auditRoutes, mountRoutes, roleGate } from '../../gateway/app/mount-routes.ts';
import { expectedAccess, RELATIONS_OF_ROLE, refusedRoles, type RoleAccess } from '../../gateway/app/route-access.ts';
import { route, ROUTE_TABLE, routeKey, routeTable, type RouteEntry } from '../../gateway/app/route-table.ts';
import { HttpProblem } from '../../gateway/http/problem.ts';
import { ROLES, type Principal, type Role } from '../../core/identity/roles.ts';
import { compareRoutesWithTable, listGatewayRoutes, listRoutes } from '../support/route-listing.ts';
import { loadSettings } from '../../config/settings.ts';

const entry = (key: string): RouteEntry => {
  const found = ROUTE_TABLE.find((e) => routeKey(e) === key);
  if (!found) throw new Error(`no entry for ${key}`);
  return found;
};

describe('the route table', () => {
  it('has an entry for every route createApp mounts, and createApp mounts every entry', () => {
    const comparison = compareRoutesWithTable(listGatewayRoutes(), ROUTE_TABLE);
    expect(comparison.notInTable, 'give these routes an entry in gateway/app/route-table.ts').toEqual([]);
    expect(comparison.notMounted, 'these entries name routes the app does not have').toEqual([]);
    expect(comparison.duplicated).toEqual([]);
  });

  it('sees a route mounted beside the table, and an entry left unmounted', () => {
    const ok: RequestHandler = (_req, res) => {
      res.end();
    };
    const table = ['/a', '/b/:id'].map((path) =>
      route({ method: 'GET', path: path as `/${string}`, what: path, access: 'public', audit: { notAudited: 'test' }, handler: () => ok }),
    );
    const app = express();
    mountRoutes(app, table.slice(1), undefined);
    app.get('/debug', ok);
    expect(compareRoutesWithTable(listRoutes(app), table)).toEqual({ notInTable: ['GET /debug'], notMounted: ['GET /a'], duplicated: [] });
  });

  it('makes only the health checks, the web app and the embedded sign-in public', () => {
    expect(ROUTE_TABLE.filter((e) => e.access === 'public').map(routeKey)).toEqual([
      'GET /healthz',
      'GET /readyz',
      'GET /',
      'GET /sign-in',
      'GET /sign-in/callback',
      'GET /api/sign-in/config',
      'GET /studies/:study',
      'GET /dashboard',
      'GET /assets/*path',
      'GET /api/sign-in/people',
      'POST /api/sign-in',
    ]);
  });

  it('has no sign-in route when an OpenID Connect provider signs people in', () => {
    const settings = loadSettings({
      OIDC_ISSUER: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet',
      OIDC_JWKS_URL: 'https://auth.esante.gouv.fr/jwks',
      OIDC_AUDIENCE: 'astreinte',
      OIDC_CLIENT_ID: 'astreinte-web',
    });
    const routes = listGatewayRoutes(settings);
    expect(routes.filter((r) => r.includes('sign-in')).sort()).toEqual(['GET /api/sign-in/config', 'GET /sign-in', 'GET /sign-in/callback']);
    const comparison = compareRoutesWithTable(routes, routeTable({ adminSeesPatientData: false, embeddedSignIn: false }));
    expect(comparison).toEqual({ notInTable: [], notMounted: [], duplicated: [] });
  });

  it("audits every route but the health checks, the metrics, the web app's files, the sign-in settings, the people to sign in as and the caller's own identity", () => {
    const notAudited = ROUTE_TABLE.filter((e) => typeof e.audit !== 'function').map(routeKey);
    expect(notAudited).toEqual([
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /',
      'GET /sign-in',
      'GET /sign-in/callback',
      'GET /api/sign-in/config',
      'GET /api/me',
      'GET /studies/:study',
      'GET /dashboard',
      'GET /assets/*path',
      'GET /api/sign-in/people',
    ]);
  });

  it('never hides from a caller what is theirs: hidden is only for other sites, territories and unrouted items', () => {
    const wrong: string[] = [];
    for (const e of ROUTE_TABLE) {
      if (e.access === 'public') continue;
      for (const role of ROLES) {
        for (const relation of RELATIONS_OF_ROLE[role]) {
          const access = expectedAccess(e, { authenticated: true, role, relation });
          if (access === 'hidden' && ['own-site', 'routed', 'own-territory', 'any'].includes(relation)) wrong.push(`${routeKey(e)} ${role} ${relation}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses, at compile time, an entry without a handler, an access or an audit event, or a handler reading a parameter its path lacks', () => {
    const base = { method: 'GET', path: '/api/things/:id', what: 'a thing', access: 'public', audit: { notAudited: 'test' } } as const;
    const byId: (req: Request<{ id: string }>, res: Response) => void = (req, res) => {
      res.json({ id: req.params.id });
    };
    const declared = [
      route({ ...base, handler: () => byId }),
      // @ts-expect-error no handler
      route({ method: 'GET', path: '/api/things', what: 'things', access: 'public', audit: { notAudited: 'test' } }),
      // @ts-expect-error no access
      route({ method: 'GET', path: '/api/things', what: 'things', audit: { notAudited: 'test' }, handler: () => byId }),
      // @ts-expect-error no audit event
      route({ method: 'GET', path: '/api/things', what: 'things', access: 'public', handler: () => byId }),
      // @ts-expect-error the path gives no :id
      route({ ...base, path: '/api/things', handler: () => byId }),
    ];
    expect(declared).toHaveLength(5);
  });
});

describe('expectedAccess', () => {
  it('answers 401 to a caller without a valid token on every route but the health checks', () => {
    expect(expectedAccess(entry('GET /healthz'), { authenticated: false })).toBe('allow');
    expect(expectedAccess(entry('GET /dicomweb/studies/:study'), { authenticated: false })).toBe('unauthenticated');
  });

  it('reads the role and the relation', () => {
    const metadata = entry('GET /dicomweb/studies/:study/metadata');
    expect(expectedAccess(metadata, { authenticated: true, role: 'sender', relation: 'own-site' })).toBe('allow');
    expect(expectedAccess(metadata, { authenticated: true, role: 'sender', relation: 'other-site' })).toBe('hidden');
    expect(expectedAccess(metadata, { authenticated: true, role: 'reader', relation: 'not-routed' })).toBe('hidden');
    expect(expectedAccess(metadata, { authenticated: true, role: 'coordinator', relation: 'own-territory' })).toBe('forbidden');
    expect(expectedAccess(entry('POST /dicomweb/studies'), { authenticated: true, role: 'sender', relation: 'other-site' })).toBe('refused');
  });

  it('refuses a relation that does not decide the role', () => {
    expect(() => expectedAccess(entry('GET /api/worklist'), { authenticated: true, role: 'sender', relation: 'routed' })).toThrow(/own-site, other-site/);
  });

  it('lets administrators see images only where the installation allows it', () => {
    const admin = { authenticated: true, role: 'admin', relation: 'any' } as const;
    const withAccess = routeTable({ adminSeesPatientData: true }).find((e) => routeKey(e) === 'GET /dicomweb/studies/:study')!;
    expect(expectedAccess(entry('GET /dicomweb/studies/:study'), admin)).toBe('forbidden');
    expect(expectedAccess(withAccess, admin)).toBe('allow');
  });
});

describe('the role gate', () => {
  /** What the gate does with a request of this role: passes it on, or the status and code of its refusal. */
  const gateAnswer = (gate: RequestHandler, role: Role): string => {
    const principal: Principal = { userId: `${role}-test`, role };
    let answer = 'none';
    const next: NextFunction = (error?: unknown) => {
      answer = error instanceof HttpProblem ? `${error.status} ${error.code}: ${error.message}` : error ? String(error) : 'next';
    };
    gate({} as Request, { locals: { principal } } as unknown as Response, next);
    return answer;
  };

  it('turns away, before the handler, exactly the roles every relation of which the table forbids', () => {
    const wrong: string[] = [];
    for (const options of [{ adminSeesPatientData: false }, { adminSeesPatientData: true }]) {
      for (const e of routeTable(options)) {
        if (e.access === 'public') continue;
        const access = e.access;
        const gate = roleGate(access);
        for (const role of ROLES) {
          const forbidden = RELATIONS_OF_ROLE[role].every((relation) => expectedAccess(e, { authenticated: true, role, relation }) === 'forbidden');
          const answer = gate ? gateAnswer(gate, role) : 'next';
          const refused = answer.startsWith('403 role-not-allowed');
          if (refused !== forbidden || (!refused && answer !== 'next')) wrong.push(`${routeKey(e)} ${role}: ${answer}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('says which roles may, or what the route keeps from the role', () => {
    const indicators = roleGate(entry('GET /metrics').access as RoleAccess)!;
    expect(gateAnswer(indicators, 'reader')).toBe('403 role-not-allowed: This needs the role admin or analyst; your token has the role reader.');
    const images = roleGate(entry('GET /dicomweb/studies/:study/metadata').access as RoleAccess)!;
    expect(gateAnswer(images, 'admin')).toBe(
      '403 role-not-allowed: Administrators do not see patient data on this installation (ASTREINTE_ADMIN_PATIENT_ACCESS is off).',
    );
    expect(gateAnswer(images, 'analyst')).toBe('403 role-not-allowed: Your role (analyst) gives no access to images or their metadata.');
    // A coordinator gets past the gate (another territory's item is hidden, not forbidden), but is not named.
    const claim = roleGate(entry('POST /api/worklist/:id/claim').access as RoleAccess)!;
    expect(gateAnswer(claim, 'admin')).toBe('403 role-not-allowed: This needs the role reader or expert; your token has the role admin.');
    expect(gateAnswer(claim, 'coordinator')).toBe('next');
  });

  it('is left out where no role is refused everywhere', () => {
    const open: RoleAccess = { ...(entry('GET /api/worklist').access as RoleAccess), sender: { 'own-site': 'allow', 'other-site': 'hidden' }, analyst: 'allow' };
    expect(refusedRoles(open)).toEqual([]);
    expect(roleGate(open)).toBeUndefined();
  });
});

describe('auditRoutes', () => {
  /** An auditor that answers each request with the event its last describer gives (the real one records it). */
  const describingAuditor = (): RequestAuditor => ({
    audit: (describe) => (req, res, next) => {
      res.locals.describe = describe;
      res.locals.params = { ...req.params };
      next();
    },
    stats: { recorded: 0, failed: 0, pending: 0, refused: 0 },
    checkAppending: async () => undefined,
    close: () => undefined,
    drain: async () => undefined,
  });

  it('names, for each request, the event of the entry whose handler answers it', async () => {
    const app = express();
    app.use(express.json());
    app.use(auditRoutes(ROUTE_TABLE, describingAuditor()));
    app.use((req, res) => {
      const describe = res.locals.describe as AuditDescribe | undefined;
      const event: AuditDescriptor | null | undefined = describe?.(req, res, { params: res.locals.params, status: 200, completed: true });
      res.json(event ? { type: event.type, subtype: event.subtype, action: event.action, entities: event.entities ?? [] } : null);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const eventOf = async (method: string, path: string, body?: unknown) =>
        (await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) })).json();
      expect(await eventOf('GET', '/api/worklist/events')).toEqual({ type: '110112', subtype: 'worklist-events', action: 'E', entities: [] });
      expect(await eventOf('GET', '/api/worklist/6d0c3c52-8f0e-4c1b-9d59-1f7e0b0c2a11')).toMatchObject({
        type: '110111',
        subtype: 'worklist-item',
        action: 'R',
        entities: [{ kind: 'worklist-item', itemId: '6d0c3c52-8f0e-4c1b-9d59-1f7e0b0c2a11' }],
      });
      expect(await eventOf('POST', '/api/worklist/x/claim')).toMatchObject({ type: '110111', subtype: 'worklist-claim', action: 'U' });
      expect(await eventOf('GET', '/dicomweb/studies/1.2.3/series/1.2.4/metadata')).toEqual({
        type: '110103',
        subtype: 'wado-metadata',
        action: 'R',
        entities: [{ kind: 'study', studyUid: '1.2.3', seriesUids: ['1.2.4'] }],
      });
      expect(await eventOf('GET', '/dicomweb/studies/1.2.3/series/1.2.4/instances')).toMatchObject({ type: '110112', subtype: 'qido' });
      expect(await eventOf('POST', '/dicomweb/studies/1.2.3')).toEqual({ type: '110104', subtype: 'stow', action: 'C', entities: [{ kind: 'study', studyUid: '1.2.3' }] });
      expect(await eventOf('POST', '/api/oppositions/lift', { issuer: 'CHU', patientId: 'IPP1' })).toMatchObject({ subtype: 'opposition-lifted', entities: [{ kind: 'patient', patientId: 'IPP1', issuer: 'CHU' }] });
      expect(await eventOf('GET', '/metrics')).toBeNull();
      expect(await eventOf('GET', '/healthz')).toBeNull();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('listRoutes', () => {
  const ok: RequestHandler = (_req, res) => {
    res.end();
  };

  it('lists routes of nested routers with their full paths, one per path of an array, without HEAD', () => {
    const app = express();
    app.get('/healthz', ok);
    const inner = express.Router();
    inner.get(['/a/:id', '/b'], ok);
    inner.post('/a/:id/act', ok);
    const outer = express.Router();
    outer.use('/inner', inner);
    outer.delete('/x/*rest', ok);
    app.use('/api', (_req, _res, next) => next(), outer);
    app.all('/any', ok);
    expect(listRoutes(app)).toEqual([
      'ALL /any',
      'DELETE /api/x/*rest',
      'GET /api/inner/a/:id',
      'GET /api/inner/b',
      'GET /healthz',
      'POST /api/inner/a/:id/act',
    ]);
  });

  it('leaves out routes whose every handler only observes', () => {
    const observe: RequestHandler = (_req, _res, next) => next();
    const app = express();
    const watcher = express.Router();
    watcher.get('/api/:id', observe);
    watcher.post('/api/:id/:action', observe);
    app.use(watcher);
    const api = express.Router();
    api.get('/:id', observe, ok);
    app.use('/api', api);
    expect(listRoutes(app, { isObserver: (h) => h === observe })).toEqual(['GET /api/:id']);
  });

  it('refuses a RegExp path, which the table cannot name', () => {
    const app = express();
    app.get(/^\/legacy\/.*/, ok);
    expect(() => listRoutes(app)).toThrow(/not a string path/);
  });
});
