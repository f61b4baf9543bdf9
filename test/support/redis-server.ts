import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';

export const REDIS_SERVER_BINARY = '/usr/bin/redis-server';

/** BullMQ's two backends, for `describe.each`: its PostgreSQL backend (the default) and Redis (REDIS_URL). */
export const QUEUE_BACKENDS = [
  { name: 'PostgreSQL queue backend', redis: false },
  { name: 'Redis queue backend', redis: true },
] as const;

export interface RedisServerOptions {
  /** Append-only file with fsync at every write: jobs survive a restart. Default false (no persistence at all). */
  appendOnly?: boolean;
}

export interface TestRedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** SIGTERM, wait for the exit, delete the directory. */
  stop(): Promise<void>;
  /** SIGKILL (a crash), wait for the exit; restart() brings it back on the same port and directory. */
  kill(): Promise<void>;
  /** Starts the server again (after kill); without appendOnly it comes back empty. */
  restart(): Promise<void>;
}

/**
 * A PRIVATE redis-server (Debian's binary) as a child process on a free loopback port, with its own temporary
 * directory: never a system Redis. No persistence unless asked, so a restart loses every job, as a Redis run
 * without persistence does in production.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<TestRedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--daemonize', 'no',
    '--save', '',
    '--appendonly', options.appendOnly ? 'yes' : 'no',
    ...(options.appendOnly ? ['--appendfsync', 'always'] : []),
    '--loglevel', 'warning',
    '--logfile', '',
  ];
  let child: ChildProcess | undefined;
  let output = '';
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const launch = async () => {
    output = '';
    const started = spawn(REDIS_SERVER_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(port))) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`redis-server exited while starting (${started.exitCode ?? started.signalCode}): ${output}`);
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within 10 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return resolve();
      running.once('exit', () => resolve());
      running.kill(signal);
    });

  try {
    await launch();
  } catch (error) {
    await waitExit('SIGKILL');
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await waitExit('SIGTERM');
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
    kill: () => waitExit('SIGKILL'),
    restart: launch,
  };
}

/** True when something on the port answers +PONG to PING (RESP inline command). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
