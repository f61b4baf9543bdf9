/**
 * The routes an express app really answers, to compare with the route table (gateway/app/route-table.ts):
 * test/unit/route-policies.test.ts and test/integration/authorization-matrix.test.ts fail as soon as the app has
 * a route the table does not know, or the table an entry the app does not mount.
 */
import type { Express, RequestHandler } from 'express';
import { METHODS } from 'node:http';
import { loadSettings, type Settings } from '../../config/settings.ts';
import { createApp, type AppDependencies } from '../../gateway/app/create-app.ts';
import { routeKey, type RouteEntry, type RouteKey } from '../../gateway/app/route-table.ts';

export interface RouteComparison {
  /** Routes the app answers that the table does not know: each must get an entry. */
  notInTable: RouteKey[];
  /** Entries of the table the app does not mount. */
  notMounted: RouteKey[];
  /** Routes with more than one entry. */
  duplicated: RouteKey[];
}

export function compareRoutesWithTable(routes: readonly RouteKey[], table: readonly RouteEntry<never>[]): RouteComparison {
  const routeSet = new Set(routes);
  const seen = new Set<RouteKey>();
  const duplicated: RouteKey[] = [];
  for (const entry of table) {
    const key = routeKey(entry);
    if (seen.has(key)) duplicated.push(key);
    seen.add(key);
  }
  return {
    notInTable: [...routeSet].filter((r) => !seen.has(r)).sort(),
    notMounted: [...seen].filter((r) => !routeSet.has(r)).sort(),
    duplicated,
  };
}

/** The parts of router 2.x's Layer and Route this listing reads (declared in router/index.d.ts). */
interface RouterLayer {
  rawPath?: unknown;
  handle: unknown;
  method?: string;
  route?: { stack: RouterLayer[] };
}

export interface ListRoutesOptions {
  /**
   * Handlers that only watch requests and pass them on (the audit table mounts one per route): a route whose
   * every handler for a method is an observer is not an endpoint for that method.
   */
  isObserver?: (handler: unknown) => boolean;
}

/**
 * Every endpoint of an express 5 app as `METHOD /full/path` (HEAD, implied by GET, is left out), walking the
 * app router and the routers mounted in it. router 2.3's listRoutes() gives paths and mounted routers but not
 * the handlers, which are needed to leave out observer routes; so the stack is walked here, reading the same
 * fields listRoutes() reads (Layer.rawPath, Layer.route, a mounted router's stack). Plain middleware is not a
 * route and is not listed. A RegExp path cannot be named in the route table: it throws.
 */
export function listRoutes(app: Express, options: ListRoutesOptions = {}): RouteKey[] {
  const routes = new Set<RouteKey>();
  walk(app.router.stack as unknown as RouterLayer[], '', options.isObserver ?? (() => false), routes);
  return [...routes].sort();
}

function walk(stack: readonly RouterLayer[], prefix: string, isObserver: (handler: unknown) => boolean, out: Set<RouteKey>): void {
  for (const layer of stack) {
    const paths = (Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath]).map((p) => pathText(p, prefix));
    if (layer.route) {
      const endpoints = new Map<string, boolean>();
      for (const handler of layer.route.stack) {
        const method = (handler.method ?? 'all').toUpperCase();
        endpoints.set(method, (endpoints.get(method) ?? false) || !isObserver(handler.handle));
      }
      let methods = [...endpoints].filter(([, isEndpoint]) => isEndpoint).map(([method]) => method);
      // app.all() registers the route once per HTTP method: name it once.
      if (METHODS.every((m) => methods.includes(m))) methods = ['ALL'];
      for (const method of methods) for (const path of paths) out.add(`${method} ${joinPath(prefix, path)}` as RouteKey);
    } else if (isRouter(layer.handle)) {
      for (const path of paths) walk(layer.handle.stack, joinPath(prefix, path), isObserver, out);
    }
  }
}

function isRouter(handle: unknown): handle is { stack: RouterLayer[] } {
  return typeof handle === 'function' && Array.isArray((handle as { stack?: unknown }).stack);
}

function pathText(path: unknown, prefix: string): string {
  if (typeof path === 'string') return path;
  throw new Error(
    `A route under ${JSON.stringify(prefix || '/')} is mounted on ${String(path)}, which is not a string path: ` +
      'give it a string path so that the route table can name it.',
  );
}

function joinPath(prefix: string, path: string): string {
  const joined = `${prefix.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') : joined;
}

/**
 * The routes createApp mounts, listed from an app built with dependencies that refuse to be used (building
 * the app only registers routes; it never handles a request here), and an auditor whose middlewares are the
 * observers to leave out.
 */
export function listGatewayRoutes(settings: Settings = loadSettings({})): RouteKey[] {
  const observers = new Set<unknown>();
  const auditor: AppDependencies['auditor'] = {
    audit() {
      const observe: RequestHandler = (_req, _res, next) => next();
      observers.add(observe);
      return observe;
    },
    stats: { recorded: 0, failed: 0, pending: 0, refused: 0 },
    checkAppending: async () => undefined,
    close: () => undefined,
    drain: async () => undefined,
  };
  const app = createApp({
    settings,
    auditor,
    index: unusable('index'),
    objects: unusable('objects'),
    search: unusable('search'),
    verifier: unusable('verifier'),
    log: unusable('log'),
    checkReady: unusable('checkReady'),
    database: unusable('database'),
    regionConfig: unusable('regionConfig'),
    clock: unusable('clock'),
    notifications: unusable('notifications'),
    routing: unusable('routing'),
    reports: unusable('reports'),
  });
  return listRoutes(app, { isObserver: (handler) => observers.has(handler) });
}

/** A stand-in that throws on any use, naming the dependency. */
function unusable<T>(name: string): T {
  const fail = (what: string): never => {
    throw new Error(`Listing the routes used the dependency ${name} (${what}); createApp must only register routes when it builds the app.`);
  };
  return new Proxy(function unusableDependency() {}, {
    get: (_target, property) => (property === 'then' ? undefined : fail(`.${String(property)}`)),
    apply: () => fail('called'),
  }) as T;
}
