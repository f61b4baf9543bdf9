/**
 * GET /readyz, answered without a token: it says whether the gateway can serve, and which dependency it
 * waits for, never where that dependency lives. A driver's error ("connect ECONNREFUSED 10.0.3.7:5432") names
 * hosts and ports of the internal network; it goes to the log, for the operator.
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

export type Dependency = 'database' | 'object store' | 'audit trail';

/** Thrown by a readiness check: which dependency did not answer, and the underlying error (logged only). */
export class DependencyUnavailable extends Error {
  constructor(
    readonly dependency: Dependency,
    readonly reason: unknown,
  ) {
    super(`the ${dependency} does not answer`);
    this.name = 'DependencyUnavailable';
  }
}

/** Runs `check` and labels its failure with `dependency`. */
export async function checkDependency(dependency: Dependency, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (error) {
    throw new DependencyUnavailable(dependency, error);
  }
}

export function readinessHandler(checkReady: () => Promise<void>, log: Logger): RequestHandler {
  return async (_req, res) => {
    try {
      await checkReady();
      res.json({ status: 'ready' });
    } catch (error) {
      const known = error instanceof DependencyUnavailable;
      log.warn({ err: known ? error.reason : error, dependency: known ? error.dependency : undefined }, 'not ready');
      res.status(503).json({ status: 'not ready', reason: known ? error.message : 'a dependency does not answer' });
    }
  };
}
