import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, principalOf, requireRole } from '../../../gateway/auth/authenticate.ts';
import { issueToken, loadOrCreateSigningKey, type EmbeddedSigningKey } from '../../../gateway/auth/embedded-signing-key.ts';
import { createTokenVerifier } from '../../../gateway/auth/token-verifier.ts';
import { HttpProblem } from '../../../gateway/http/problem.ts';

const AUDIENCE = 'astreinte';
let dir: string;
let key: EmbeddedSigningKey;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-authn-'));
  const verifier = await createTokenVerifier({ kind: 'embedded', keyDir: dir, audience: AUDIENCE });
  key = await loadOrCreateSigningKey(dir);
  const app = express();
  app.use(authenticate(verifier));
  app.get('/me', (_req, res) => {
    res.json(principalOf(res));
  });
  app.post('/studies', requireRole('sender', 'admin'), (_req, res) => {
    res.status(200).json({ stored: true });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const problem = error instanceof HttpProblem ? error : new HttpProblem(500, 'internal');
    res.set(problem.headers).status(problem.status).json({ code: problem.code, detail: problem.message });
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const token = (role: 'sender' | 'reader' | 'admin') =>
  issueToken(key, { role, site: role === 'sender' ? '130000001' : undefined, rpps: role === 'reader' ? '10001234567' : undefined, audience: AUDIENCE });

describe('authenticate', () => {
  it('sets the principal from a bearer token (scheme case-insensitive)', async () => {
    const t = await token('sender');
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await fetch(`${base}/me`, { headers: { Authorization: `${scheme} ${t}` } });
      expect(res.status, scheme).toBe(200);
      expect(await res.json()).toMatchObject({ userId: 'sender-cli', role: 'sender', site: '130000001' });
    }
  });

  it('answers 401 with WWW-Authenticate: Bearer when the token is missing', async () => {
    const res = await fetch(`${base}/me`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="astreinte"');
    expect(await res.json()).toMatchObject({ code: 'token-missing', detail: expect.stringContaining('Authorization: Bearer') });
  });

  it('answers 401 invalid_token for another scheme, a malformed header or a bad token', async () => {
    const t = await token('reader');
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${t} extra`, `Bearer ${t.slice(0, -4)}AAAA`, 'Bearer a.b.c']) {
      const res = await fetch(`${base}/me`, { headers: { Authorization: header } });
      expect(res.status, header).toBe(401);
      expect(res.headers.get('www-authenticate'), header).toMatch(/^Bearer realm="astreinte", error="invalid_token"/);
    }
  });

  it('refuses tokens in the URL', async () => {
    const res = await fetch(`${base}/me?access_token=${await token('admin')}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'token-in-url' });
  });

  it('requireRole lets the listed roles through and answers 403 to the others', async () => {
    const post = async (role: 'sender' | 'reader' | 'admin') =>
      fetch(`${base}/studies`, { method: 'POST', headers: { Authorization: `Bearer ${await token(role)}` } });
    expect((await post('sender')).status).toBe(200);
    expect((await post('admin')).status).toBe(200);
    const refused = await post('reader');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      code: 'role-not-allowed',
      detail: 'This needs the role sender or admin; your token has the role reader.',
    });
  });

  it('principalOf throws on a response that was not authenticated', () => {
    expect(() => principalOf({ locals: {} } as Response)).toThrow(/no authenticate/);
  });
});
