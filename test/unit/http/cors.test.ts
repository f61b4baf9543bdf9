import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cors, CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS } from '../../../gateway/http/cors.ts';
import { HttpProblem, Unauthorized } from '../../../gateway/http/problem.ts';

const VIEWER = 'https://viewer.chu-exemple.fr';
const servers: Server[] = [];

/** cors, then a stand-in for authentication (401 without Authorization), then routes. */
async function startApp(origins: string[] | '*', problemHandler: boolean): Promise<string> {
  const app = express();
  app.use(cors(origins));
  app.use((req, _res, next) => next(req.get('authorization') ? undefined : new Unauthorized()));
  app.get('/frames', (_req, res) => {
    res.set('Content-Range', 'bytes 0-9/100').status(206).send(Buffer.alloc(10));
  });
  app.get('/boom', () => {
    throw new Error('unexpected');
  });
  if (problemHandler) {
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const problem = error instanceof HttpProblem ? error : new HttpProblem(500, 'failed');
      res.set(problem.headers).status(problem.status).type('application/problem+json').send(JSON.stringify({ code: problem.code }));
    });
  }
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let anyOrigin: string;
let listed: string;
let defaultHandler: string;

beforeAll(async () => {
  anyOrigin = await startApp('*', true);
  listed = await startApp([`${VIEWER}/`, 'http://localhost:3000'], true);
  defaultHandler = await startApp([VIEWER], false);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

const auth = { Authorization: 'Bearer x' };
const exposed = CORS_EXPOSED_HEADERS.join(', ');

function preflight(base: string, origin: string, requestHeaders = 'authorization') {
  return fetch(`${base}/frames`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': requestHeaders },
  });
}

describe('cors with "*"', () => {
  it('allows any origin with *, exposes the headers a viewer reads, varies on Origin', async () => {
    const res = await fetch(`${anyOrigin}/frames`, { headers: { ...auth, Origin: 'https://anything.example' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toBe(exposed);
    expect(res.headers.get('access-control-expose-headers')).toContain('Content-Range');
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
    expect(res.headers.get('vary')).toBe('Origin');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('adds no CORS headers but Vary to requests without Origin', async () => {
    const res = await fetch(`${anyOrigin}/frames`, { headers: auth });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('answers preflights with 204 before authentication', async () => {
    const res = await preflight(anyOrigin, 'https://anything.example', 'Authorization, X-Requested-With, bad header, accept');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, DELETE, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe(
      'Authorization, Content-Type, Accept, Range, If-None-Match, X-Requested-With',
    );
    expect(res.headers.get('access-control-max-age')).toBe(String(CORS_MAX_AGE_SECONDS));
    expect(res.headers.get('vary')).toBe('Origin, Access-Control-Request-Headers');
    expect(await res.text()).toBe('');
  });
});

describe('cors with a list of origins', () => {
  it('echoes an allowed origin (case and trailing slash do not matter)', async () => {
    for (const origin of [VIEWER, 'HTTPS://VIEWER.CHU-EXEMPLE.FR', 'http://localhost:3000']) {
      const res = await fetch(`${listed}/frames`, { headers: { ...auth, Origin: origin } });
      expect(res.headers.get('access-control-allow-origin'), origin).toBe(origin);
      expect(res.headers.get('vary')).toBe('Origin');
    }
  });

  it('gives other origins no CORS headers (the browser blocks them) but still varies on Origin', async () => {
    for (const origin of ['https://evil.example', 'http://localhost:3001', `${VIEWER}.evil.example`, 'null']) {
      const res = await fetch(`${listed}/frames`, { headers: { ...auth, Origin: origin } });
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(res.headers.get('access-control-expose-headers')).toBeNull();
      expect(res.headers.get('vary')).toBe('Origin');
    }
  });

  it('answers an allowed preflight and refuses another with 403', async () => {
    const ok = await preflight(listed, VIEWER);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(VIEWER);
    const refused = await preflight(listed, 'https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(await refused.json()).toEqual({ code: 'cors-origin-not-allowed' });
  });

  it('lets a plain OPTIONS (not a preflight) through to the next middleware', async () => {
    const res = await fetch(`${listed}/frames`, { method: 'OPTIONS', headers: { Origin: VIEWER } });
    expect(res.status).toBe(401); // reached the authentication stand-in
    expect(res.headers.get('access-control-allow-origin')).toBe(VIEWER);
  });
});

describe('CORS headers on errors', () => {
  const cases: [string, () => string, string, Record<string, string>, number][] = [
    ['401 from authentication (problem handler)', () => listed, '/frames', {}, 401],
    ['404 (problem handler)', () => listed, '/nothing', auth, 404],
    ['500 thrown in a route (problem handler)', () => listed, '/boom', auth, 500],
    ['401 (express default handler)', () => defaultHandler, '/frames', {}, 401],
    ['404 (express default handler)', () => defaultHandler, '/nothing', auth, 404],
    ['500 (express default handler)', () => defaultHandler, '/boom', auth, 500],
  ];
  for (const [name, base, route, headers, status] of cases) {
    it(`keeps them on a ${name}`, async () => {
      const res = await fetch(`${base()}${route}`, { headers: { ...headers, Origin: VIEWER } });
      expect(res.status).toBe(status);
      expect(res.headers.get('access-control-allow-origin')).toBe(VIEWER);
      expect(res.headers.get('access-control-expose-headers')).toBe(exposed);
      expect(res.headers.get('vary')).toContain('Origin');
    });
  }

  it('lets the page read WWW-Authenticate-bearing 401s', async () => {
    const res = await fetch(`${listed}/frames`, { headers: { Origin: VIEWER } });
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="astreinte"');
  });
});
