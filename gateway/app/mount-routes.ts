/**
 * Puts the route table (route-table.ts) into express:
 *
 *   app.use(auditRoutes(table, auditor));             // before authenticate: each route's audit event
 *   app.use(authenticate(verifier));
 *   mountRoutes(router, table, services, '/dicomweb'); // each route: role gate, then its handlers
 */
import { Router, type RequestHandler } from 'express';
import type { Principal, Role } from '../../core/identity/roles.ts';
import type { AuditDescribe, RequestAuditor } from '../account/audit-middleware.ts';
import { Forbidden, Unauthorized } from '../http/problem.ts';
import { allowedRoles, refusedRoles, type RoleAccess } from './route-access.ts';
import type { RouteEntry, RouteMethod } from './route-table.ts';

type RouterMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

const ROUTER_METHOD: Record<RouteMethod, RouterMethod> = { GET: 'get', POST: 'post', PUT: 'put', PATCH: 'patch', DELETE: 'delete' };

/**
 * Mounts each entry on `router` at its path less `prefix` (the router's own mount point): the role gate of its
 * access (none for public routes), then the handlers its factory builds from `services`.
 */
export function mountRoutes<S>(router: Router, entries: readonly RouteEntry<S>[], services: S, prefix = ''): void {
  for (const entry of entries) {
    if (!entry.path.startsWith(`${prefix}/`)) {
      throw new Error(`The route ${entry.method} ${entry.path} is not under ${prefix}: mount it on the router of its own prefix.`);
    }
    const built = entry.handler(services);
    const handlers: RequestHandler[] = Array.isArray(built) ? [...built] : [built as RequestHandler];
    if (entry.access !== 'public') {
      const gate = roleGate(entry.access);
      if (gate) handlers.unshift(gate);
    }
    router[ROUTER_METHOD[entry.method]](entry.path.slice(prefix.length), ...handlers);
  }
}

/**
 * A 403 for the roles the access refuses whatever the resource (every relation `forbidden`), before the handler
 * runs; undefined when every role may get further. The answer names the roles the route is for.
 */
export function roleGate(access: RoleAccess): RequestHandler | undefined {
  const refused = refusedRoles(access);
  if (refused.length === 0) return undefined;
  const wording =
    access.refusal ?? ((role: Role) => `This needs the role ${allowedRoles(access).join(' or ')}; your token has the role ${role}.`);
  return (_req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) next(new Unauthorized());
    else if (refused.includes(principal.role)) next(new Forbidden(wording(principal.role), 'role-not-allowed'));
    else next();
  };
}

/**
 * The audit event of each audited entry, as middleware that only watches (mount it before authenticate, so that
 * a refused token or a rate-limited request on a route is recorded under the route's event). Where a request
 * matches several entries (`/api/worklist/events` also matches `/api/worklist/:id`), the first in the table is
 * the one whose handler answers; the auditor keeps the last describer mounted, so they are mounted in reverse.
 */
export function auditRoutes<S>(entries: readonly RouteEntry<S>[], auditor: RequestAuditor): Router {
  const router = Router();
  for (const entry of [...entries].reverse()) {
    if (!isDescriber(entry.audit)) continue;
    router[ROUTER_METHOD[entry.method]](entry.path, auditor.audit(entry.audit));
  }
  return router;
}

function isDescriber(audit: RouteEntry['audit']): audit is AuditDescribe {
  return typeof audit === 'function';
}
