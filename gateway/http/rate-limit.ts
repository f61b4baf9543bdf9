/**
 * Requests per caller, as token buckets in memory: each caller may make `burst` requests at once, then
 * `requestsPerSecond` on average. One request is one request whatever its size: a STOW-RS body of a
 * thousand instances counts once (its size has its own limits).
 *
 * Two middlewares share the buckets:
 * - `byPrincipal`, mounted after authenticate(): one bucket per token (its `jti`), or per user when the
 *   token has no id. Per token rather than per user because all the tokens the CLI prints for a role share a
 *   default subject (`sender-cli`), while each sending site has its own token.
 * - `byAddress`, mounted before authenticate(): requests that end without an authenticated caller (no
 *   token, refused token) are counted per client address, so guessing or replaying tokens is slowed down,
 *   while the users behind one hospital NAT are not limited as one.
 *
 * Memory is bounded: a bucket that has refilled is the same as no bucket and is dropped by a sweep, and at
 * most `maxBuckets` are kept (least recently used go first). The limit is per process.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Principal } from '../../core/identity/roles.ts';
import { HttpProblem } from './problem.ts';

export interface RateLimitOptions {
  /** Average requests per second allowed per caller; 0 disables the limit. */
  requestsPerSecond: number;
  /** Requests a caller may make at once after being idle. */
  burst: number;
  /** Most buckets kept in memory (default 100,000). */
  maxBuckets?: number;
  /** Milliseconds clock (default Date.now); tests pass a fake one. */
  now?: () => number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const SWEEP_INTERVAL_MS = 10_000;

/** Token buckets keyed by caller. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxBuckets: number;
  private lastSweep: number;

  constructor(private readonly options: RateLimitOptions) {
    if (!(options.requestsPerSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError('TokenBuckets needs requestsPerSecond > 0 and burst >= 1');
    }
    this.now = options.now ?? Date.now;
    this.maxBuckets = options.maxBuckets ?? 100_000;
    this.lastSweep = this.now();
  }

  /** Spends one request of `key`'s bucket, or says how long to wait for one. */
  take(key: string): TakeResult {
    const bucket = this.refilled(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: this.secondsUntilOne(bucket) };
  }

  /** Like take() but spends nothing: whether `key` could make a request now. */
  check(key: string): TakeResult {
    const bucket = this.buckets.get(key);
    if (!bucket) return { allowed: true };
    const tokens = this.tokensAt(bucket, this.now());
    return tokens >= 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: this.secondsUntilOne({ tokens, updatedAt: 0 }) };
  }

  /** Spends one request of `key`'s bucket if there is one left; never refuses (the request already ran). */
  charge(key: string): void {
    const bucket = this.refilled(key);
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string): Bucket {
    const now = this.now();
    this.sweep(now);
    const existing = this.buckets.get(key);
    const bucket: Bucket = existing ? { tokens: this.tokensAt(existing, now), updatedAt: now } : { tokens: this.options.burst, updatedAt: now };
    // Re-inserting keeps the map in least-recently-used order.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxBuckets) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return bucket;
  }

  private tokensAt(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
    return Math.min(this.options.burst, bucket.tokens + elapsed * this.options.requestsPerSecond);
  }

  private secondsUntilOne(bucket: Bucket): number {
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.options.requestsPerSecond));
  }

  /** Drops the buckets that have refilled: a full bucket is the same as none. */
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) {
      if (this.tokensAt(bucket, now) >= this.options.burst) this.buckets.delete(key);
    }
  }
}

export interface RateLimit {
  /** Mount before authenticate(): refuses addresses that made too many unauthenticated requests. */
  byAddress: RequestHandler;
  /** Mount after authenticate(): refuses tokens that make too many requests. */
  byPrincipal: RequestHandler;
  /** Undefined when the limit is disabled. */
  buckets?: TokenBuckets;
}

/** The two middlewares; with `requestsPerSecond` 0 they let everything through. */
export function rateLimit(options: RateLimitOptions): RateLimit {
  if (options.requestsPerSecond === 0) {
    const pass: RequestHandler = (_req, _res, next) => next();
    return { byAddress: pass, byPrincipal: pass };
  }
  const buckets = new TokenBuckets(options);
  const limits = `at most ${formatRate(options.requestsPerSecond)} requests per second on average, ${options.burst} at once`;

  const byAddress: RequestHandler = (req, res, next) => {
    const key = addressKey(req);
    const state = buckets.check(key);
    if (!state.allowed) {
      next(tooMany(state.retryAfterSeconds, `Too many requests without a valid token from this address (${limits}).`));
      return;
    }
    // 'close' also fires when the client goes away before the answer is complete.
    res.once('close', () => {
      if (!principalIn(res)) buckets.charge(key);
    });
    next();
  };

  const byPrincipal: RequestHandler = (_req, res, next) => {
    const principal = principalIn(res);
    if (!principal) {
      next();
      return;
    }
    const state = buckets.take(principalKey(principal));
    if (!state.allowed) {
      next(tooMany(state.retryAfterSeconds, `Too many requests with this token (${limits}).`));
      return;
    }
    next();
  };
  return { byAddress, byPrincipal, buckets };
}

export function principalKey(principal: Principal): string {
  return principal.tokenId ? `token:${principal.tokenId}` : `user:${principal.userId}`;
}

function addressKey(req: Request): string {
  return `address:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}

function principalIn(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

function tooMany(retryAfterSeconds: number, what: string): HttpProblem {
  return new HttpProblem(
    429,
    `${what} Wait ${retryAfterSeconds} s and try again, or send fewer requests at once (a STOW-RS request may carry many instances).`,
    'rate-limited',
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

function formatRate(rate: number): string {
  return Number.isInteger(rate) ? String(rate) : rate.toFixed(2).replace(/0+$/, '');
}
