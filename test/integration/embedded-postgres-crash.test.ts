import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../storage/database/database.ts';
import { EmbeddedPostgresServer } from '../../storage/database/embedded-postgres-server.ts';
import { freePort } from '../support/free-port.ts';

const databaseModule = fileURLToPath(new URL('../../storage/database/database.ts', import.meta.url));
const SMALL = { shared_buffers: '32MB' };

/** An application process that starts the embedded server, writes a row, says READY and waits to be killed. */
const CHILD = `
const { openDatabase } = await import(process.env.DATABASE_MODULE);
const db = await openDatabase(
  { kind: 'embedded', dir: process.env.PG_DIR, port: Number(process.env.PG_PORT) },
  { embeddedServerSettings: { shared_buffers: '32MB' } },
);
// Tables are the owner's (the application role may not create them); the owner then grants it their use.
await db.asOwner((owner) => owner.query('CREATE TABLE IF NOT EXISTS crash_marker (v text)'));
await db.query("INSERT INTO crash_marker VALUES ('written before the crash')");
console.log('READY');
setInterval(() => {}, 1000);
`;

/** Exists and is not a zombie (an exited server waits a moment to be reaped by init). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function postmasterPid(dir: string): Promise<number> {
  return Number.parseInt((await readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0], 10);
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startApplication(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    env: { ...process.env, DATABASE_MODULE: databaseModule, PG_DIR: dir, PG_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('READY')) resolve(child);
    });
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => reject(new Error(`application exited (${code}) before READY:\n${output}`)));
  });
}

async function markers(url: string): Promise<string[]> {
  const db = await openDatabase({ kind: 'external', url });
  try {
    return (await db.query<{ v: string }>('SELECT v FROM crash_marker')).rows.map((r) => r.v);
  } finally {
    await db.close();
  }
}

describe('embedded PostgreSQL after a crash', () => {
  let root: string;
  let dir: string;
  let port: number;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'astreinte-crash-'));
    await chmod(root, 0o755);
    dir = path.join(root, 'postgres');
    port = await freePort();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    if (dir) {
      const pid = await postmasterPid(dir).catch(() => undefined);
      if (pid && isAlive(pid)) process.kill(pid, 'SIGQUIT');
    }
    await rm(root, { recursive: true, force: true });
  });

  it('reuses a server started by a live process, and leaves it running', async () => {
    child = await startApplication(dir, port);
    const ownerPostmaster = await postmasterPid(dir);
    // Another configured port: the running server's own port is used.
    const second = new EmbeddedPostgresServer({ dir, port: await freePort(), settings: SMALL });
    const url = await second.start();
    expect(await markers(url)).toEqual(['written before the crash']);
    await second.stop();
    expect(isAlive(ownerPostmaster)).toBe(true);
    expect(await postmasterPid(dir)).toBe(ownerPostmaster);
  });

  it('after the application is SIGKILLed, stops the orphan server and starts again with the data', async () => {
    const orphan = await postmasterPid(dir);
    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
    expect(isAlive(orphan)).toBe(true); // the server outlived its application

    const events: string[] = [];
    const db = await openDatabase({ kind: 'embedded', dir, port }, { embeddedServerSettings: SMALL, onEvent: (e) => events.push(e) });
    try {
      expect(events.join('\n')).toMatch(/left running by a process that died/);
      expect(isAlive(orphan)).toBe(false);
      expect(await postmasterPid(dir)).not.toBe(orphan);
      const { rows } = await db.query<{ v: string }>('SELECT v FROM crash_marker');
      expect(rows.map((r) => r.v)).toEqual(['written before the crash']);
      await db.query("INSERT INTO crash_marker VALUES ('written after the restart')");
    } finally {
      await db.close();
    }
  });

  it('starts when the server itself was killed (stale postmaster.pid, crash recovery)', async () => {
    // Started without supervision (openDatabase would supervise it): a supervisor left running would restart the
    // server behind the later tests' backs.
    await new EmbeddedPostgresServer({ dir, port, settings: SMALL }).start();
    const killed = await postmasterPid(dir);
    process.kill(killed, 'SIGKILL');
    await waitUntil(() => !isAlive(killed), 'the killed postmaster is gone');

    const events: string[] = [];
    const server = new EmbeddedPostgresServer({ dir, port, settings: SMALL, onEvent: (e) => events.push(e) });
    // The killed server's backends notice their postmaster died and exit; retry while they do.
    let url: string | undefined;
    for (let attempt = 0; url === undefined; attempt++) {
      try {
        url = await server.start();
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    try {
      expect(events.join('\n')).toMatch(/stale postmaster.pid/);
      expect((await markers(url)).sort()).toEqual(['written after the restart', 'written before the crash']);
    } finally {
      await server.stop();
    }
  });

  it('ignores a postmaster.pid naming a live process that is not this cluster', async () => {
    await writeFile(path.join(dir, 'postmaster.pid'), `${process.pid}\n${dir}\n`);
    const server = new EmbeddedPostgresServer({ dir, port, settings: SMALL });
    const url = await server.start();
    try {
      expect(await markers(url)).toHaveLength(2);
    } finally {
      await server.stop();
    }
    expect(isAlive(process.pid)).toBe(true);
  });
});
