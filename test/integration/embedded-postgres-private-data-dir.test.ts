/**
 * As root, start-up failed when ASTREINTE_DATA_DIR was private (`mktemp -d`, mode 0700): the embedded server runs
 * as postgres, which could not reach its password file nor its cluster (issue 13, transient faults). The data
 * directory now lets the postgres group search it, and nobody else gains anything; another closed directory
 * above it is named with the command to run.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresServer } from '../../storage/database/embedded-postgres-server.ts';
import { freePort } from '../support/free-port.ts';

const SMALL = { shared_buffers: '16MB', max_connections: 10 };
const made: string[] = [];

afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

describe('the embedded PostgreSQL server in a private data directory, started as root', () => {
  it('starts, with the data directory opened to the postgres group for search only', async () => {
    expect(process.getuid?.(), 'the suite runs as root (npm test installs Debian packages)').toBe(0);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-private-')); // mode 0700, like mktemp -d
    made.push(dataDir);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const server = new EmbeddedPostgresServer({ dir: path.join(dataDir, 'postgres'), port: await freePort(), settings: SMALL, fastInit: true });
    const url = await server.start();
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.end();
    } finally {
      await server.stop();
    }
    const after = await stat(dataDir);
    expect(after.mode & 0o777).toBe(0o710);
    expect(after.uid).toBe(0);
    expect(after.gid).toBe(Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })));
  }, 120_000);

  it('names a closed directory above the data directory and what to run, and changes nothing', async () => {
    const outer = await mkdtemp(path.join(os.tmpdir(), 'astreinte-closed-'));
    made.push(outer);
    const dataDir = path.join(outer, 'data');
    await mkdir(dataDir, { mode: 0o755 });
    const server = new EmbeddedPostgresServer({ dir: path.join(dataDir, 'postgres'), port: await freePort(), settings: SMALL, fastInit: true });
    await expect(server.start()).rejects.toThrow(
      `${outer} (mode 700) is closed to it. Let it through with "setfacl -m u:postgres:x ${outer}" (package acl) or "chmod o+x ${outer}"`,
    );
    expect((await stat(outer)).mode & 0o777).toBe(0o700);
    expect((await stat(outer)).gid).toBe(0);
  }, 60_000);
});
