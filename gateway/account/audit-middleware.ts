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
}

export interface RequestAuditStats {
  recorded: number;
  failed: number;
  pending: number;
}

export interface RequestAuditor {
  /** Middleware recording the event `describe` returns. On the same request, the last one mounted wins. */
  audit(describe: AuditDescribe): RequestHandler;
  readonly stats: Readonly<RequestAuditStats>;
  /** Resolves when every append under way has ended (shutdown, tests). */
  drain(): Promise<void>;
}

interface AuditLocals {
  describe: AuditDescribe;
  params: Request['params'];
  note: AuditNote;
  recorded: boolean;
}

const LOCALS_KEY = 'astreinteAudit';
const ANONYMOUS: AuditActor = { userId: 'anonymous' };

export function createRequestAuditor(trail: AuditRecorder, options: RequestAuditorOptions): RequestAuditor {
  const stats: RequestAuditStats = { recorded: 0, failed: 0, pending: 0 };
  const pending = new Set<Promise<void>>();

  const fail = (error: unknown, what: { type?: string; subtype?: string; status: number }) => {
    stats.failed += 1;
    try {
      options.onFailure?.();
      options.log.error({ component: 'audit', ...what, error: safeError(error) }, 'audit event not recorded');
    } catch {
      // a broken logger or metric must not take the process down from a 'close' listener
    }
  };

  const finish = (req: Request, res: Response, locals: AuditLocals) => {
    if (locals.recorded) return;
    const status = res.statusCode;
    let input: AuditEventInput | undefined;
    try {
      const principal = res.locals.principal as Principal | undefined;
      const context: AuditRequestContext = { params: locals.params, status, completed: res.writableFinished, principal };
      const descriptor = locals.describe(req, res, context);
      if (!descriptor) return;
      input = toInput(req, descriptor, locals.note, context);
    } catch (error) {
      fail(error, { status });
      return;
    }
    const event = input;
    stats.pending += 1;
    const append = trail.record(event).then(
      () => {
        stats.recorded += 1;
      },
      (error: unknown) => fail(error, { type: event.type, subtype: event.subtype, status }),
    );
    const tracked = append.finally(() => {
      stats.pending -= 1;
      pending.delete(tracked);
    });
    pending.add(tracked);
  };

  return {
    audit(describe) {
      return (req, res, next) => {
        const existing = res.locals[LOCALS_KEY] as AuditLocals | undefined;
        if (existing) {
          existing.describe = describe;
          existing.params = { ...req.params };
        } else {
          const locals: AuditLocals = { describe, params: { ...req.params }, note: {}, recorded: false };
          res.locals[LOCALS_KEY] = locals;
          res.once('close', () => finish(req, res, locals));
        }
        next();
      };
    },
    stats,
    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

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
