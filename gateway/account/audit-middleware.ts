/**
 * One audit event per HTTP request, appended once the response is over.
 *
 *   const auditor = createRequestAuditor(trail, { log });
 *   router.get('/studies/:study/metadata', auditor.audit(describeMetadata), handler);
 *   // in a handler, as it learns what it touched:  noteAudit(res, { entities: [...] })
 *   // at shutdown, before closing the database:    await auditor.drain()
 *
 * The describer runs when the response is over ('close', which follows 'finish', or a client that went
 * away), so it can report what was actually done: the status, the entities the handler noted. The outcome is
 * derived from the status (2xx/3xx 0, 4xx 4, 5xx 8, response cut short 4) unless the descriptor or a note
 * says worse.
 *
 * Trade-off: the event is appended after the response left, so a failed append cannot fail the request; the
 * data was already sent. A failure is logged (event code and subtype, never its content) and counted
 * (`stats.failed`, `onFailure` for a metric). Changes of state that must not happen without their event use
 * `trail.recordIn(client, ...)` inside their transaction instead, then `markAuditRecorded(res)` so that the
 * middleware does not write a second event.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Principal } from '../../core/identity/roles.ts';
import {
  actorFromPrincipal,
  AuditEventError,
  type AuditAction,
  type AuditActor,
  type AuditEntity,
  type AuditEventCode,
  type AuditEventInput,
  type AuditOutcome,
} from '../../audit/audit-event.ts';
import { AuditTrailError, type AuditRecorder } from '../../audit/audit-trail.ts';
import { RETRY_AFTER_SECONDS } from '../http/transient-failure.ts';

/** What a route says about a request; who and from where are filled in from the request. */
export interface AuditDescriptor {
  type: AuditEventCode;
  subtype: string;
  action: AuditAction;
  entities?: AuditEntity[];
  outcome?: AuditOutcome;
  outcomeDescription?: string;
  /** Default: the authenticated principal, or `anonymous` when the request carried no valid token. */
  actor?: AuditActor;
}

export interface AuditRequestContext {
  /** req.params as they were when the route matched (express restores the outer ones once a router is left). */
  params: Request['params'];
  status: number;
  /** false when the client went away before the whole response was sent. */
  completed: boolean;
  principal?: Principal;
}

/** Returns what to record, or null to record nothing for this request. */
export type AuditDescribe = (req: Request, res: Response, context: AuditRequestContext) => AuditDescriptor | null | undefined;

/** What a handler adds while it works. */
export interface AuditNote {
  entities?: AuditEntity[];
  outcome?: AuditOutcome;
  outcomeDescription?: string;
}

/** pino's Logger fits. */
export interface AuditFailureLog {
  error(fields: Record<string, unknown>, message: string): void;
}

export interface RequestAuditorOptions {
  log: AuditFailureLog;
  /** Called once per event that could not be appended (e.g. a prom-client Counter's inc, without labels). */
  onFailure?: () => void;
  /** How long a response waits for its event before it becomes a 503 (default 10 s). */
  gateTimeoutMs?: number;
  /** Refused tokens are counted per address over this window, then recorded as one event (default 60 s). */
  authenticationFailureWindowMs?: number;
}

export interface RequestAuditStats {
  recorded: number;
  failed: number;
  pending: number;
  /** Answers turned into 503 because their event could not be appended. */
  refused: number;
}

export interface RequestAuditor {
  /** Middleware recording the event `describe` returns. On the same request, the last one mounted wins. */
  audit(describe: AuditDescribe): RequestHandler;
  readonly stats: Readonly<RequestAuditStats>;
  /** Rejects while appends fail (readiness): tries one Application Activity event to learn whether they work again. */
  checkAppending(): Promise<void>;
  /** Records the counted authentication failures, then resolves when every append under way has ended (shutdown, tests). */
  drain(): Promise<void>;
  /** Stops the authentication-failure timer, recording what it counted (shutdown). */
  close(): void;
}

interface AuditLocals {
  describe: AuditDescribe;
  params: Request['params'];
  note: AuditNote;
  recorded: boolean;
  /** The event appended before the first byte of a successful answer. */
  gated?: AuditEventInput;
  /** The answer became a 503 because its event could not be appended. */
  refused: boolean;
}

const LOCALS_KEY = 'astreinteAudit';
const ANONYMOUS: AuditActor = { userId: 'anonymous' };

export function createRequestAuditor(trail: AuditRecorder, options: RequestAuditorOptions): RequestAuditor {
  const stats: RequestAuditStats = { recorded: 0, failed: 0, pending: 0, refused: 0 };
  const pending = new Set<Promise<unknown>>();
  const gateTimeoutMs = options.gateTimeoutMs ?? DEFAULT_GATE_TIMEOUT_MS;
  let appendsFailing = false;

  const log = (error: unknown, what: { type?: string; subtype?: string; status: number }, message: string) => {
    try {
      options.log.error({ component: 'audit', ...what, error: safeError(error) }, message);
    } catch {
      // a broken logger must not take the process down from a 'close' listener
    }
  };
  const fail = (error: unknown, what: { type?: string; subtype?: string; status: number }) => {
    stats.failed += 1;
    try {
      options.onFailure?.();
    } catch {
      // idem for a broken metric
    }
    log(error, what, 'audit event not recorded');
  };

  /** Appends one event; every append, awaited or not, is tracked for drain() and for readiness. */
  const append = (event: AuditEventInput): Promise<void> => {
    stats.pending += 1;
    const appended = trail.record(event).then(
      () => {
        stats.recorded += 1;
        appendsFailing = false;
      },
      (error: unknown) => {
        if (error instanceof AuditTrailError) appendsFailing = true;
        throw error;
      },
    );
    const tracked = appended
      .catch(() => undefined)
      .finally(() => {
        stats.pending -= 1;
        pending.delete(tracked);
      });
    pending.add(tracked);
    return appended;
  };

  const afterwards = (event: AuditEventInput, status: number) => {
    append(event).catch((error: unknown) => fail(error, { type: event.type, subtype: event.subtype, status }));
  };

  const authFailures = new AuthenticationFailures(options.authenticationFailureWindowMs ?? 60_000, (event) => afterwards(event, 401));

  const describeNow = (req: Request, res: Response, locals: AuditLocals, status: number, completed: boolean) => {
    const principal = res.locals.principal as Principal | undefined;
    const context: AuditRequestContext = { params: locals.params, status, completed, principal };
    const descriptor = locals.describe(req, res, context);
    return descriptor ? toInput(req, descriptor, locals.note, context) : undefined;
  };

  /** The first byte of a successful answer waits for its event: appended, or the answer becomes a 503. */
  const gate = (req: Request, res: Response, locals: AuditLocals, status: number): Promise<boolean> | undefined => {
    if (locals.recorded || status >= 400) return undefined;
    let input: AuditEventInput | undefined;
    try {
      input = describeNow(req, res, locals, status, true);
    } catch (error) {
      stats.refused += 1;
      fail(error, { status });
      return Promise.resolve(false);
    }
    if (!input) return undefined;
    const event = input;
    locals.gated = event;
    return withTimeout(append(event), gateTimeoutMs).then(
      () => true,
      (error: unknown) => {
        stats.refused += 1;
        fail(error, { type: event.type, subtype: event.subtype, status });
        return false;
      },
    );
  };

  const finish = (req: Request, res: Response, locals: AuditLocals) => {
    if (locals.recorded || locals.refused) return;
    const status = res.statusCode;
    const completed = res.writableFinished;
    if (locals.gated) {
      // Recorded before the first byte as if complete; a response cut short gets a second, failed event.
      if (!completed) {
        const cut = outcomeOfStatus(status, false);
        afterwards({ ...locals.gated, outcome: cut.outcome, outcomeDescription: cut.description }, status);
      }
      return;
    }
    if (status === 401 && !res.locals.principal) {
      authFailures.count(req.ip);
      return;
    }
    try {
      const input = describeNow(req, res, locals, status, completed);
      if (input) afterwards(input, status);
    } catch (error) {
      fail(error, { status });
    }
  };

  return {
    audit(describe) {
      return (req, res, next) => {
        const existing = res.locals[LOCALS_KEY] as AuditLocals | undefined;
        if (existing) {
          existing.describe = describe;
          existing.params = { ...req.params };
        } else {
          const locals: AuditLocals = { describe, params: { ...req.params }, note: {}, recorded: false, refused: false };
          res.locals[LOCALS_KEY] = locals;
          holdFirstByte(res, (status) => gate(req, res, locals, status), () => (locals.refused = true));
          res.once('close', () => finish(req, res, locals));
        }
        next();
      };
    },
    stats,
    async checkAppending() {
      if (!appendsFailing) return;
      // One event says the trail works again (and clears the state); while it fails, the caller is not ready.
      await append({
        type: '110100',
        subtype: 'audit-resumed',
        action: 'E',
        actor: { userId: 'system:gateway', role: 'system' },
        outcomeDescription: 'audit appends work again after failures (readiness check)',
      });
    },
    async drain() {
      authFailures.flush();
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close() {
      authFailures.stop();
    },
  };
}

const DEFAULT_GATE_TIMEOUT_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AuditTrailError(`the audit append did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type ResponseMethod = 'writeHead' | 'write' | 'end' | 'flushHeaders';
const HELD: readonly ResponseMethod[] = ['writeHead', 'write', 'end', 'flushHeaders'];

/**
 * Holds everything written to `res` from its first writeHead/write/end/flushHeaders until `decide` (called
 * once, with the status) resolves: true replays what was held; false answers 503 instead and swallows what the
 * handler still writes. `decide` returning undefined lets the response through untouched. While held, write()
 * returns false and 'drain' follows the replay, so piped streams (multipart WADO, SSE) wait instead of buffering.
 */
function holdFirstByte(res: Response, decide: (status: number) => Promise<boolean> | undefined, onRefused: () => void): void {
  const target = res as unknown as Record<ResponseMethod, (...args: unknown[]) => unknown>;
  const original = Object.fromEntries(HELD.map((m) => [m, target[m]])) as Record<ResponseMethod, (...args: unknown[]) => unknown>;
  const held: { method: ResponseMethod; args: unknown[] }[] = [];
  let state: 'open' | 'holding' | 'refused' = 'open';
  let drainOwed = false;
  const restore = () => {
    for (const m of HELD) target[m] = original[m];
  };
  const callbackOf = (args: unknown[]) => args.find((a): a is () => void => typeof a === 'function');

  const intercept = (method: ResponseMethod) =>
    function (this: unknown, ...args: unknown[]): unknown {
      if (state === 'refused') {
        const callback = callbackOf(args);
        if (callback) queueMicrotask(callback);
        return method === 'write' ? true : res;
      }
      if (state === 'open') {
        const status = method === 'writeHead' && typeof args[0] === 'number' ? args[0] : res.statusCode;
        const decision = decide(status);
        if (!decision) {
          restore();
          return original[method].apply(res, args);
        }
        state = 'holding';
        void decision.then((allowed) => {
          if (allowed) {
            restore();
            for (const call of held.splice(0)) original[call.method].apply(res, call.args);
            if (drainOwed) res.emit('drain');
            return;
          }
          state = 'refused';
          onRefused();
          restore();
          refuse(res);
          for (const call of held.splice(0)) {
            const callback = callbackOf(call.args);
            if (callback) queueMicrotask(callback);
          }
          for (const m of HELD) target[m] = intercept(m);
          if (drainOwed) res.emit('drain');
        });
      }
      held.push({ method, args });
      if (method === 'write') {
        drainOwed = true;
        return false;
      }
      return res;
    };
  for (const m of HELD) target[m] = intercept(m);
}

/** The answer given instead of patient data whose access could not be recorded. */
function refuse(res: Response): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = 503;
  res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(
    JSON.stringify({
      type: 'about:blank',
      code: 'audit-unavailable',
      title: 'audit-unavailable',
      status: 503,
      detail: `L'accès n'a pas pu être tracé dans le journal d'audit : aucune donnée patient n'a été transmise. Réessayez dans ${RETRY_AFTER_SECONDS} secondes ; si cela persiste, prévenez l'exploitation. (The access could not be recorded in the audit trail, so no patient data was sent; try again in ${RETRY_AFTER_SECONDS} seconds.)`,
    }),
  );
}

/**
 * Refused tokens, counted per source address and window (a minute by default), then recorded as one User
 * Authentication (110114) failure per address with the count: a flood of bad tokens costs the chain at most
 * {@link MAX_FAILURE_ADDRESSES} + 1 events per window.
 */
class AuthenticationFailures {
  private counts = new Map<string, { count: number; first: Date; last: Date }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    windowMs: number,
    private readonly record: (event: AuditEventInput) => void,
  ) {
    this.timer = setInterval(() => this.flush(), windowMs);
    this.timer.unref();
  }

  count(address: string | undefined): void {
    const key = address ?? '';
    const known = this.counts.has(key) || this.counts.size < MAX_FAILURE_ADDRESSES ? key : OTHER_ADDRESSES;
    const now = new Date();
    const entry = this.counts.get(known) ?? { count: 0, first: now, last: now };
    entry.count += 1;
    entry.last = now;
    this.counts.set(known, entry);
  }

  flush(): void {
    const counts = this.counts;
    this.counts = new Map();
    for (const [address, { count, first, last }] of counts) {
      const from = address === OTHER_ADDRESSES ? `from more than ${MAX_FAILURE_ADDRESSES} other addresses` : 'from this address';
      this.record({
        type: '110114',
        subtype: 'authentication-failed',
        action: 'E',
        outcome: 4,
        outcomeDescription: `${count} request(s) refused ${from} (HTTP 401: bearer token missing or refused) between ${first.toISOString()} and ${last.toISOString()}`,
        actor: ANONYMOUS,
        network: address === OTHER_ADDRESSES || address === '' ? undefined : { address },
        entities: [{ kind: 'record', recordType: 'authentication-failures', id: address === OTHER_ADDRESSES ? 'other-addresses' : address || 'unknown', description: `count=${count}` }],
      });
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}

const MAX_FAILURE_ADDRESSES = 1000;
const OTHER_ADDRESSES = '\u0000other';

/** Adds what a handler touched (entities) or a worse outcome (a partly failed STOW) to the request's event. */
export function noteAudit(res: Response, note: AuditNote): void {
  const locals = res.locals[LOCALS_KEY] as AuditLocals | undefined;
  if (!locals) return;
  if (note.entities) locals.note.entities = [...(locals.note.entities ?? []), ...note.entities];
  if (note.outcome !== undefined && note.outcome >= (locals.note.outcome ?? 0)) {
    locals.note.outcome = note.outcome;
    locals.note.outcomeDescription = note.outcomeDescription;
  }
}

/** The handler recorded this request's event itself (recordIn, in its transaction): the middleware skips it. */
export function markAuditRecorded(res: Response): void {
  const locals = res.locals[LOCALS_KEY] as AuditLocals | undefined;
  if (locals) locals.recorded = true;
}

/**
 * A describer for the outermost level (mounted before authenticate): a refused token becomes a User
 * Authentication (110114) failure; every other request records nothing at this level.
 */
export const describeAuthenticationFailure: AuditDescribe = (_req, _res, { status, principal }) =>
  status === 401 && !principal
    ? { type: '110114', subtype: 'token-refused', action: 'E', outcomeDescription: 'bearer token missing or refused (HTTP 401)' }
    : null;

function toInput(req: Request, descriptor: AuditDescriptor, note: AuditNote, context: AuditRequestContext): AuditEventInput {
  const derived = outcomeOfStatus(context.status, context.completed);
  // The worst of the three wins; on a tie, what the route said (it knows more than the status code).
  const explicit = worse(
    { outcome: descriptor.outcome ?? 0, description: descriptor.outcomeDescription },
    { outcome: note.outcome ?? 0, description: note.outcomeDescription },
  );
  const chosen = worse(explicit, derived);
  const userAgent = req.get('user-agent');
  return {
    type: descriptor.type,
    subtype: descriptor.subtype,
    action: descriptor.action,
    outcome: chosen.outcome,
    outcomeDescription: chosen.description ?? (chosen.outcome === 0 ? undefined : derived.description),
    actor: descriptor.actor ?? (context.principal ? actorFromPrincipal(context.principal) : ANONYMOUS),
    network: { address: req.ip, userAgent: userAgent === '' ? undefined : userAgent },
    entities: [...(descriptor.entities ?? []), ...(note.entities ?? [])],
  };
}

interface OutcomeWithDescription {
  outcome: AuditOutcome;
  description?: string;
}

function worse(a: OutcomeWithDescription, b: OutcomeWithDescription): OutcomeWithDescription {
  return b.outcome > a.outcome ? b : a;
}

export function outcomeOfStatus(status: number, completed: boolean): OutcomeWithDescription {
  if (status >= 500) return { outcome: 8, description: `HTTP ${status}` };
  if (status >= 400) return { outcome: 4, description: `HTTP ${status}` };
  if (!completed) return { outcome: 4, description: `the client disconnected before the whole response was sent (HTTP ${status})` };
  return { outcome: 0 };
}

/** What may be logged about a failed append: never the event, nor a database message that could quote it. */
function safeError(error: unknown): Record<string, string | undefined> {
  if (error instanceof AuditEventError) return { name: error.name, message: error.message };
  if (error instanceof AuditTrailError) {
    const ours = error.sqlState === undefined || error.sqlState.startsWith('AUD') || error.sqlState === '42883' || error.sqlState === '42P01';
    return { name: error.name, sqlState: error.sqlState, message: ours ? error.message : undefined };
  }
  const e = error as { name?: unknown; code?: unknown };
  return { name: typeof e?.name === 'string' ? e.name : typeof error, code: typeof e?.code === 'string' ? e.code : undefined };
}
