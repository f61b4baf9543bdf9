import express, { type RequestHandler } from 'express';
import { describe, expect, it } from 'vitest';
import {
  compareRoutesWithPolicies,
  expectedAccess,
  listGatewayRoutes,
  listRoutes,
  RELATIONS_OF_ROLE,
  ROUTE_POLICIES,
  routePolicies,
  type RoutePolicy,
} from '../../gateway/app/route-policies.ts';
import { ROLES } from '../../core/identity/roles.ts';
import { loadSettings } from '../../config/settings.ts';

const policy = (route: string): RoutePolicy => {
  const found = ROUTE_POLICIES.find((p) => p.route === route);
  if (!found) throw new Error(`no policy for ${route}`);
  return found;
};

describe('the route table', () => {
  it('has a policy for every route createApp mounts, and no policy without a route', () => {
    const comparison = compareRoutesWithPolicies(listGatewayRoutes());
    expect(comparison.withoutPolicy, 'give these routes a policy in gateway/app/route-policies.ts').toEqual([]);
    expect(comparison.withoutRoute, 'these policies name routes the app does not have').toEqual([]);
    expect(comparison.duplicated).toEqual([]);
  });

  it('makes only the health checks, the web app and the embedded sign-in public', () => {
    expect(ROUTE_POLICIES.filter((p) => p.access === 'public').map((p) => p.route)).toEqual([
      'GET /healthz',
      'GET /readyz',
      'GET /',
      'GET /sign-in',
      'GET /studies/:study',
      'GET /assets/*path',
      'GET /api/sign-in/people',
      'POST /api/sign-in',
    ]);
  });

  it('has no sign-in route when an OpenID Connect provider signs people in', () => {
    const settings = loadSettings({ OIDC_ISSUER: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet', OIDC_JWKS_URL: 'https://auth.esante.gouv.fr/jwks', OIDC_AUDIENCE: 'astreinte' });
    const routes = listGatewayRoutes(settings);
    expect(routes.filter((r) => r.includes('sign-in'))).toEqual(['GET /sign-in']);
    const comparison = compareRoutesWithPolicies(routes, routePolicies({ adminSeesPatientData: false, embeddedSignIn: false }));
    expect(comparison).toEqual({ withoutPolicy: [], withoutRoute: [], duplicated: [] });
  });

  it('never hides from a caller what is theirs: hidden is only for other sites, territories and unrouted items', () => {
    const wrong: string[] = [];
    for (const p of ROUTE_POLICIES) {
      if (p.access === 'public') continue;
      for (const role of ROLES) {
        for (const relation of RELATIONS_OF_ROLE[role]) {
          const access = expectedAccess(p, { authenticated: true, role, relation });
          if (access === 'hidden' && ['own-site', 'routed', 'own-territory', 'any'].includes(relation)) wrong.push(`${p.route} ${role} ${relation}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('expectedAccess', () => {
  it('answers 401 to a caller without a valid token on every route but the health checks', () => {
    expect(expectedAccess(policy('GET /healthz'), { authenticated: false })).toBe('allow');
    expect(expectedAccess(policy('GET /dicomweb/studies/:study'), { authenticated: false })).toBe('unauthenticated');
  });

  it('reads the role and the relation', () => {
    const metadata = policy('GET /dicomweb/studies/:study/metadata');
    expect(expectedAccess(metadata, { authenticated: true, role: 'sender', relation: 'own-site' })).toBe('allow');
    expect(expectedAccess(metadata, { authenticated: true, role: 'sender', relation: 'other-site' })).toBe('hidden');
    expect(expectedAccess(metadata, { authenticated: true, role: 'reader', relation: 'not-routed' })).toBe('hidden');
    expect(expectedAccess(metadata, { authenticated: true, role: 'coordinator', relation: 'own-territory' })).toBe('forbidden');
    expect(expectedAccess(policy('POST /dicomweb/studies'), { authenticated: true, role: 'sender', relation: 'other-site' })).toBe('refused');
  });

  it('refuses a relation that does not decide the role', () => {
    expect(() => expectedAccess(policy('GET /api/worklist'), { authenticated: true, role: 'sender', relation: 'routed' })).toThrow(/own-site, other-site/);
  });

  it('lets administrators see images only where the installation allows it', () => {
    const admin = { authenticated: true, role: 'admin', relation: 'any' } as const;
    const withAccess = routePolicies({ adminSeesPatientData: true }).find((p) => p.route === 'GET /dicomweb/studies/:study')!;
    expect(expectedAccess(policy('GET /dicomweb/studies/:study'), admin)).toBe('forbidden');
    expect(expectedAccess(withAccess, admin)).toBe('allow');
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

  it('refuses a RegExp path, which no policy can name', () => {
    const app = express();
    app.get(/^\/legacy\/.*/, ok);
    expect(() => listRoutes(app)).toThrow(/not a string path/);
  });
});
