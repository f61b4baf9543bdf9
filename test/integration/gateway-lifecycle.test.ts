import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

async function startFails(env: NodeJS.ProcessEnv, command: string[] = ['start']): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, ['bin/astreinte.cjs', ...command], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

/** Running, not a zombie (a sandbox's PID 1 may never reap orphans, so kill(pid, 0) is not enough). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('starting and stopping the gateway', () => {
  let gw: GatewayProcess | undefined;
  afterAll(async () => {
    await gw?.dispose();
  });

  it('refuses a bad setting with a message saying what to fix', async () => {
    const badPort = await startFails({ PORT: 'eighty', ASTREINTE_DATA_DIR: '/nonexistent-never-created' });
    expect(badPort.code).toBe(1);
    expect(badPort.stderr).toMatch(/PORT="eighty"/);
    const partialS3 = await startFails({ S3_ENDPOINT: 'http://127.0.0.1:9', ASTREINTE_DATA_DIR: '/nonexistent-never-created' });
    expect(partialS3.stderr).toMatch(/S3_BUCKET.*missing|missing.*S3_BUCKET/);
    const badDb = await startFails({ DATABASE_URL: 'mysql://x', ASTREINTE_DATA_DIR: '/nonexistent-never-created' });
    expect(badDb.stderr).toMatch(/DATABASE_URL.*postgres/);
  });

  it('every command reports a configuration error the same way: what to fix, no stack trace', async () => {
    const env = { ASTREINTE_NOW: 'sunday night', ASTREINTE_DATA_DIR: '/nonexistent-never-created' };
    for (const command of [['start'], ['worker'], ['oncall'], ['audit', 'verify'], ['token', '--role', 'admin']]) {
      const { code, stderr } = await startFails(env, command);
      expect(code, command.join(' ')).not.toBe(0);
      expect(stderr, command.join(' ')).toMatch(/ASTREINTE_NOW="sunday night": not an ISO 8601 date and time; write for example/);
      expect(stderr, command.join(' ')).not.toMatch(/^\s+at /m);
    }
    const badRegion = await startFails({ ASTREINTE_CONFIG: 'config/examples/missing.yaml', ASTREINTE_DATA_DIR: '/nonexistent-never-created' });
    expect(badRegion.code).toBe(1);
    expect(badRegion.stderr).toMatch(/missing\.yaml/);
    expect(badRegion.stderr).not.toMatch(/^\s+at /m);
  });

  it('stops everything it started on Ctrl-C, and restarts on the same cluster', async () => {
    gw = await startGateway({ env: { UV_THREADPOOL_SIZE: undefined } });
    // The command sizes libuv's thread pool (32) before it starts: ingest's fsyncs must not hold every thread.
    // The node process has a few threads of its own besides the pool (4 by default).
    expect(readdirSync(`/proc/${gw.child.pid}/task`).length).toBeGreaterThanOrEqual(32);
    const pidFile = path.join(gw.dataDir, 'postgres', 'postmaster.pid');
    const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    expect(alive(postmaster)).toBe(true);
    expect(await gw.stop()).toBe(0);
    expect(alive(postmaster)).toBe(false);
    await expect(access(pidFile)).rejects.toThrow();

    await gw.restart();
    const admin = await gw.token('--role', 'admin');
    const metrics = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/astreinte_http_request_duration_seconds_bucket\{[^}]*route="\/readyz"/);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect(gw.output()).not.toMatch(/initialising a new PostgreSQL cluster[\s\S]*initialising a new PostgreSQL cluster/);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
  });

  it('leaves nothing running after a crash (SIGKILL), and comes back on restart', async () => {
    const pidFile = path.join(gw!.dataDir, 'postgres', 'postmaster.pid');
    const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    await gw!.kill();
    // SIGKILL gives the gateway no chance to clean up: its watchdog stops PostgreSQL within a few seconds.
    const deadline = Date.now() + 15_000;
    while (alive(postmaster) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(alive(postmaster)).toBe(false);
    await gw!.restart();
    expect((await fetch(`${gw!.url}/readyz`)).status).toBe(200);
    const restarted = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    expect(await gw!.stop()).toBe(0);
    expect(alive(restarted)).toBe(false);
  });

  it('takes over a PostgreSQL server left running by a killed gateway whose watchdog died too', async () => {
    await gw!.restart();
    const pidFile = path.join(gw!.dataDir, 'postgres', 'postmaster.pid');
    const orphan = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    const watchdog = Number((await readFile(path.join(gw!.dataDir, 'postgres', 'astreinte.watchdog'), 'utf8')).trim());
    process.kill(watchdog, 'SIGKILL');
    await gw!.kill();
    expect(alive(orphan)).toBe(true);
    await gw!.restart();
    expect((await fetch(`${gw!.url}/readyz`)).status).toBe(200);
    expect(alive(orphan)).toBe(false);
  });
});
