import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface GatewayProcess {
  url: string;
  dicomweb: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  /** Prints a token from the gateway's CLI (`astreinte token ...`). */
  token(...args: string[]): Promise<string>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** SIGINT and wait for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** Starts the gateway again on the same data directory and ports. */
  restart(): Promise<void>;
  /** Stops and removes the data directory. */
  dispose(): Promise<void>;
  output(): string;
}

export interface GatewayOptions {
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
}

/** Starts a real gateway process (`astreinte start`) on free loopback ports with its own data directory. */
export async function startGateway(options: GatewayOptions = {}): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'astreinte-gw-')));
  await chmod(dataDir, 0o755); // the embedded PostgreSQL runs as the postgres user when we are root
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    ASTREINTE_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    DIMSE_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  let child!: ChildProcess;
  let log = '';
  const url = `http://127.0.0.1:${port}`;

  const launch = async () => {
    child = spawn(process.execPath, [path.join(repoRoot, 'bin/astreinte.cjs'), 'start'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitReady(url, child, () => log);
  };
  await launch();

  const exited = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });

  const gateway: GatewayProcess = {
    url,
    dicomweb: `${url}/dicomweb`,
    dataDir,
    env,
    get child() {
      return child;
    },
    async token(...args: string[]) {
      const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bin/astreinte.cjs'), 'token', ...args], { cwd: repoRoot, env });
      return stdout.trim();
    },
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    async stop() {
      child.kill('SIGINT');
      return exited();
    },
    async restart() {
      await launch();
    },
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) await gateway.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
    output: () => log,
  };
  return gateway;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway not ready after 60 s:\n${output()}`);
}
