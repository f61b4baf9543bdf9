import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cors } from '../../../gateway/http/cors.ts';
import { HttpProblem, NotFound } from '../../../gateway/http/problem.ts';
import { CONTENT_SECURITY_POLICY, noStore, securityHeaders, type SecurityHeadersOptions } from '../../../gateway/http/security-headers.ts';

const servers: Server[] = [];

async function startApp(trustProxy: boolean, options?: SecurityHeadersOptions): Promise<string> {
  const app = express();
  app.set('trust proxy', trustProxy);
  app.use(securityHeaders(options));
  app.use(cors('*'));
  app.get('/index.html', (_req, res) => {
    res.type('html').send('<!doctype html><script src="/app.js"></script>');
  });
  app.get('/dicomweb/studies', noStore(), (_req, res) => {
    res.type('application/dicom+json').send('[]');
  });
  app.use((req, _res, next) => next(new NotFound(`No resource at ${req.path}.`)));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const problem = error instanceof HttpProblem ? error : new HttpProblem(500, 'failed');
    res.status(problem.status).type('application/problem+json').send(JSON.stringify({ code: problem.code }));
  });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let direct: string;
let behindProxy: string;
let sameOrigin: string;

beforeAll(async () => {
  direct = await startApp(false);
  behindProxy = await startApp(true);
  sameOrigin = await startApp(false, { crossOriginResourcePolicy: 'same-origin', hstsMaxAgeSeconds: 0 });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('securityHeaders', () => {
  it('sets the policy headers on pages, API answers and errors alike', async () => {
    for (const path of ['/index.html', '/dicomweb/studies', '/nowhere']) {
      const res = await fetch(`${direct}${path}`);
      const h = res.headers;
      expect(h.get('content-security-policy'), path).toBe(CONTENT_SECURITY_POLICY);
      expect(h.get('x-content-type-options'), path).toBe('nosniff');
      expect(h.get('referrer-policy'), path).toBe('no-referrer');
      expect(h.get('x-frame-options'), path).toBe('DENY');
      expect(h.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(h.get('cross-origin-resource-policy'), path).toBe('cross-origin');
      expect(h.get('permissions-policy'), path).toMatch(/^camera=\(\), microphone=\(\), geolocation=\(\)/);
      expect(h.get('strict-transport-security'), path).toBeNull();
    }
  });

  it('allows no inline script, style or eval, no framing, no plugins', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives).toEqual({
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:', 'blob:'],
      'connect-src': ["'self'"],
      'worker-src': ["'self'", 'blob:'],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'object-src': ["'none'"],
    });
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)|\*/);
  });

  it('sends Strict-Transport-Security only for requests that came over HTTPS', async () => {
    const viaTls = await fetch(`${behindProxy}/dicomweb/studies`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(viaTls.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const viaHttp = await fetch(`${behindProxy}/dicomweb/studies`, { headers: { 'x-forwarded-proto': 'http' } });
    expect(viaHttp.headers.get('strict-transport-security')).toBeNull();
    // Without TRUST_PROXY, a client cannot claim HTTPS with a header.
    const spoofed = await fetch(`${direct}/dicomweb/studies`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(spoofed.headers.get('strict-transport-security')).toBeNull();
    const disabled = await fetch(`${sameOrigin}/dicomweb/studies`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(disabled.headers.get('strict-transport-security')).toBeNull();
  });

  it('takes another Cross-Origin-Resource-Policy when the viewer is on the same origin', async () => {
    const res = await fetch(`${sameOrigin}/index.html`);
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
  });

  it('leaves CORS working for a viewer on another origin', async () => {
    const res = await fetch(`${direct}/dicomweb/studies`, { headers: { origin: 'https://ohif.example.fr' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });
});

describe('noStore', () => {
  it('forbids caching of patient data, and only where mounted', async () => {
    const data = await fetch(`${direct}/dicomweb/studies`);
    expect(data.headers.get('cache-control')).toBe('no-store');
    expect(data.headers.get('pragma')).toBe('no-cache');
    const page = await fetch(`${direct}/index.html`);
    expect(page.headers.get('cache-control')).not.toBe('no-store');
    expect(page.headers.get('pragma')).toBeNull();
  });
});
