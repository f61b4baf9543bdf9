import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/identity/roles.ts';
import { HttpProblem, Unauthorized } from '../../../gateway/http/problem.ts';
import { principalKey, rateLimit, TokenBuckets, type RateLimit } from '../../../gateway/http/rate-limit.ts';

class FakeClock {
  ms = 1_700_000_000_000;
  now = () => this.ms;
  advance(seconds: number) {
    this.ms += seconds * 1000;
  }
}

describe('TokenBuckets', () => {
  it('allows a burst, then the rate, and says how long to wait', () => {
    const clock = new FakeClock();
    const buckets = new TokenBuckets({ requestsPerSecond: 2, burst: 5, now: clock.now });
    for (let i = 0; i < 5; i++) expect(buckets.take('a')).toEqual({ allowed: true });
    expect(buckets.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(0.5); // one request regained
    expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
    clock.advance(10); // refills up to the burst, not beyond
    for (let i = 0; i < 5; i++) expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
  });

  it('rounds Retry-After up to whole seconds for slow rates', () => {
    const clock = new FakeClock();
    const buckets = new TokenBuckets({ requestsPerSecond: 0.1, burst: 1, now: clock.now });
    expect(buckets.take('slow').allowed).toBe(true);
    expect(buckets.take('slow')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    clock.advance(4);
    expect(buckets.take('slow')).toEqual({ allowed: false, retryAfterSeconds: 6 });
  });

  it('keeps callers apart', () => {
    const clock = new FakeClock();
    const buckets = new TokenBuckets({ requestsPerSecond: 1, burst: 1, now: clock.now });
    expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('b').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
  });

  it('check() spends nothing; charge() spends without refusing and never goes below zero', () => {
    const clock = new FakeClock();
    const buckets = new TokenBuckets({ requestsPerSecond: 1, burst: 2, now: clock.now });
    expect(buckets.check('x').allowed).toBe(true);
    expect(buckets.size).toBe(0);
    for (let i = 0; i < 10; i++) buckets.charge('x');
    expect(buckets.check('x')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(1); // the debt did not accumulate: one second gives one request back
    expect(buckets.check('x').allowed).toBe(true);
  });

  it('forgets idle callers: refilled buckets are swept, and at most maxBuckets are kept', () => {
    const clock = new FakeClock();
    const buckets = new TokenBuckets({ requestsPerSecond: 10, burst: 20, maxBuckets: 1000, now: clock.now });
    for (let i = 0; i < 5000; i++) buckets.take(`caller-${i}`);
    expect(buckets.size).toBe(1000);
    // The most recently used are the ones kept.
    for (let i = 0; i < 19; i++) buckets.take('caller-4999');
    expect(buckets.take('caller-4999').allowed).toBe(false);
    clock.advance(1);
    buckets.take('active');
    expect(buckets.size).toBe(1000);
    clock.advance(10); // everyone has refilled: the next call sweeps them all
    buckets.take('active');
    expect(buckets.size).toBe(1);
  });

  it('refuses nonsense options', () => {
    expect(() => new TokenBuckets({ requestsPerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBuckets({ requestsPerSecond: 1, burst: 0 })).toThrow(RangeError);
  });

  it('keys by token id, or by user when the token has none', () => {
    const principal: Principal = { userId: 'sender-cli', role: 'sender', site: '310780010', tokenId: 'j-1' };
    expect(principalKey(principal)).toBe('token:j-1');
    expect(principalKey({ userId: 'u', role: 'reader' })).toBe('user:u');
  });
});

describe('rateLimit middlewares in an app', () => {
  const clock = new FakeClock();
  const servers: Server[] = [];
  let limited: string;
  let unlimited: string;
  let limit: RateLimit;

  /** byAddress, a stand-in for authenticate (Bearer <jti> accepted unless it is "bad"), byPrincipal, routes. */
  async function startApp(rl: RateLimit): Promise<string> {
    const app = express();
    app.use(rl.byAddress);
    app.use((req, res, next) => {
      const token = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
      if (!token || token === 'bad') {
        next(new Unauthorized());
        return;
      }
      res.locals.principal = { userId: 'sender-cli', role: 'sender', site: '310780010', tokenId: token } satisfies Principal;
      next();
    });
    app.use(rl.byPrincipal);
    app.get('/studies', (_req, res) => {
      res.json([]);
    });
    app.post('/studies', (req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => res.json({ bytes }));
    });
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const problem = error instanceof HttpProblem ? error : new HttpProblem(500, 'failed');
      res.set(problem.headers).status(problem.status).type('application/problem+json').send(JSON.stringify({ code: problem.code, detail: problem.message }));
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    limit = rateLimit({ requestsPerSecond: 1, burst: 3, now: clock.now });
    limited = await startApp(limit);
    unlimited = await startApp(rateLimit({ requestsPerSecond: 0, burst: 3 }));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  const get = (base: string, token?: string) => fetch(`${base}/studies`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers 429 with Retry-After and a message saying what to do once a token has used its burst', async () => {
    for (let i = 0; i < 3; i++) expect((await get(limited, 'token-a')).status).toBe(200);
    const refused = await get(limited, 'token-a');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { code: string; detail: string };
    expect(body.code).toBe('rate-limited');
    expect(body.detail).toMatch(/^Too many requests with this token \(at most 1 requests per second on average, 3 at once\)\. Wait 1 s and try again/);
    expect((await get(limited, 'token-b')).status).toBe(200); // another token is not affected
    clock.advance(1);
    expect((await get(limited, 'token-a')).status).toBe(200);
  });

  it('counts a STOW-RS body as one request whatever its size', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    const res = await fetch(`${limited}/studies`, { method: 'POST', headers: { authorization: 'Bearer token-stow', 'content-type': 'multipart/related; boundary=x' }, body: big });
    expect(await res.json()).toEqual({ bytes: big.length });
    expect((await get(limited, 'token-stow')).status).toBe(200);
    expect((await get(limited, 'token-stow')).status).toBe(200);
    expect((await get(limited, 'token-stow')).status).toBe(429);
  });

  it('limits requests without a valid token per address, and only those', async () => {
    clock.advance(100);
    for (let i = 0; i < 3; i++) expect((await get(limited, i % 2 ? 'bad' : undefined)).status).toBe(401);
    const refused = await get(limited, 'bad');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/without a valid token from this address/);
    // A valid token from the same address is refused too while the address is over its limit: the limit is
    // checked before the token is...
    expect((await get(limited)).status).toBe(429);
    clock.advance(1);
    // ...but authenticated requests do not use the address's allowance.
    for (let i = 0; i < 3; i++) expect((await get(limited, `token-c${i}`)).status).toBe(200);
    expect((await get(limited)).status).toBe(401);
    expect((await get(limited)).status).toBe(429);
  });

  it('lets everything through with requestsPerSecond 0', async () => {
    for (let i = 0; i < 20; i++) expect((await get(unlimited, 'token-a')).status).toBe(200);
    for (let i = 0; i < 20; i++) expect((await get(unlimited)).status).toBe(401);
  });
});
