import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedPostgresServer } from '../../storage/database/embedded-postgres-server.ts';
import { freePort } from './free-port.ts';

export interface TestPostgres {
  /** postgresql://... of the database 'astreinte' of a private cluster: use it as DATABASE_URL. */
  url: string;
  /** Stops the cluster and deletes its directory. */
  stop(): Promise<void>;
}

/** Small settings: several test clusters may run at once. Durability is irrelevant for a throw-away cluster. */
const TEST_SERVER_SETTINGS = {
  shared_buffers: '32MB',
  max_connections: 60,
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  log_min_duration_statement: -1,
  log_checkpoints: 'off',
};

/**
 * A PRIVATE PostgreSQL cluster (the embedded-postgres binaries) in a fresh temporary directory, on a free port
 * of 127.0.0.1: the "external" server of tests. Initialising takes about a second.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'astreinte-pg-'));
  await chmod(root, 0o755); // the postgres user must traverse it
  const server = new EmbeddedPostgresServer({
    dir: path.join(root, 'data'),
    port: await freePort(),
    settings: TEST_SERVER_SETTINGS,
    fastInit: true,
  });
  let pid: number | undefined;
  // If the test process dies without stop(), do not leave a server behind (immediate shutdown, synchronous).
  const killOnExit = () => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already stopped
      }
    }
  };
  process.once('exit', killOnExit);
  try {
    const url = await server.start();
    pid = await server.postmasterPid();
    return {
      url,
      async stop() {
        process.removeListener('exit', killOnExit);
        await server.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    process.removeListener('exit', killOnExit);
    await server.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** A new empty database in the cluster of `url` (cheaper than a new cluster); returns its URL. */
export async function createTestDatabase(url: string): Promise<string> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const result = new URL(url);
  result.pathname = `/${name}`;
  return result.toString();
}
