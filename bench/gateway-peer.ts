// Our gateway, started from the repository with a fresh data directory on free loopback ports.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { keepAliveAgent } from './http-client.ts';
import { freePort } from '../test/support/free-port.ts';
import { endedStatus, spawnLogged, stopChild, waitForHttp, type RunningServer } from './server-process.ts';

/** The sending site the bench plays (CH Saint-Girons): it stores studies and reads its own studies back. */
const BENCH_SITE = '090000050';

const run = promisify(execFile);

/** Why the gateway cannot be benchmarked yet, or undefined when its entry points exist. */
export function gatewayUnavailable(repoRoot: string): string | undefined {
  for (const file of ['bin/astreinte.js', 'cli/astreinte-cli.ts']) {
    if (!existsSync(path.join(repoRoot, file))) return `${file} does not exist yet`;
  }
  return undefined;
}

/** The embedded PostgreSQL server of a gateway's data directory, when it runs (its postmaster.pid). */
function embeddedPostmaster(dataDir: string): number[] {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? [pid] : [];
  } catch {
    return []; // an external DATABASE_URL, or not started yet
  }
}

export async function startGateway(repoRoot: string, dataDir: string, concurrency: number): Promise<RunningServer> {
  // What `npm start` runs: the compiled JavaScript, built first when the sources changed.
  await run(process.execPath, [path.join(repoRoot, 'scripts/build.mjs'), '--if-stale'], { cwd: repoRoot });
  const port = await freePort();
  const dimsePort = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    ASTREINTE_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    DIMSE_PORT: String(dimsePort),
    LOG_LEVEL: 'warn',
  };
  const logFile = path.join(dataDir, '..', 'astreinte.log');
  const cli = gatewayCommand(repoRoot);
  const child = spawnLogged(process.execPath, [...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), cli, 'start'], { cwd: repoRoot, env, logFile });
  const origin = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await stopChild(child, 30_000);
    killLeftovers(dataDir);
  };
  try {
    await waitForHttp(`${origin}/readyz`, child, 180_000, logFile);
    const token = await mintToken(repoRoot, dataDir, '--role', 'sender', '--site', BENCH_SITE);
    const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    return {
      name: 'astreinte',
      pid: child.pid as number,
      processes: () => [child.pid as number, ...embeddedPostmaster(dataDir)],
      target: { name: 'astreinte', root: `${origin}/dicomweb`, headers: { authorization: `Bearer ${token}` }, agent: keepAliveAgent(concurrency) },
      dimse: { port: dimsePort, aeTitle: 'ASTREINTE', callingAeTitle: 'STGIRONS_CT' }, // an AE title of BENCH_SITE
      version: `Astreinte ${version} (${gitRevision(repoRoot)})`,
      logFile,
      ended: () => endedStatus(child),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The `astreinte` command of a checkout (those older than 2026-12-04, which stow-ab compares with, have only the ES module entry). */
function gatewayCommand(repoRoot: string): string {
  return ['bin/astreinte.cjs', 'bin/astreinte.js'].map((file) => path.join(repoRoot, file)).find((file) => existsSync(file)) as string;
}

/** A token signed by the embedded key of the gateway whose data directory is `dataDir` (`astreinte token ...`). */
export async function mintToken(repoRoot: string, dataDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [gatewayCommand(repoRoot), 'token', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ASTREINTE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
  });
  const token = stdout.trim().split('\n').pop() ?? '';
  if (!token) throw new Error(`\`astreinte token ${args.join(' ')}\` printed no token`);
  return token;
}

function gitRevision(repoRoot: string): string {
  try {
    const head = readFileSync(path.join(repoRoot, '.git/HEAD'), 'utf8').trim();
    const ref = head.startsWith('ref: ') ? readFileSync(path.join(repoRoot, '.git', head.slice(5)), 'utf8').trim() : head;
    return ref.slice(0, 10);
  } catch {
    return 'unknown revision';
  }
}

/**
 * Processes the gateway started that outlived it (an embedded PostgreSQL whose command line names our
 * fresh data directory): ended by pid, so that nothing of this run stays behind.
 */
function killLeftovers(dataDir: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (commandLine.includes(dataDir)) {
      try {
        process.kill(Number(entry), 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  }
}
