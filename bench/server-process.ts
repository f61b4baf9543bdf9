// Starting, waiting for and stopping the private server processes the benchmark drives.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import type { DicomwebTarget } from './dicomweb-driver.ts';

export interface RunningServer {
  name: string;
  /** The process whose memory is reported (the server itself, not a wrapper). */
  pid: number;
  /**
   * Every process that makes up the server, each with its descendants: the server process, and those it
   * started that are not its children (our embedded PostgreSQL, which pg_ctl daemonizes). Read when asked:
   * a restarted database has another pid.
   */
  processes: () => number[];
  target: DicomwebTarget;
  /** Its DICOM C-STORE SCP, and a calling AE title it accepts. */
  dimse?: { port: number; aeTitle: string; callingAeTitle: string };
  /** e.g. "Orthanc 1.10.1, DICOMweb plugin 1.7" */
  version: string;
  logFile: string;
  /** How the process ended when it is no longer running ("exit code 1", "signal SIGKILL"), else undefined. */
  ended: () => string | undefined;
  stop: () => Promise<void>;
}

export function endedStatus(child: ChildProcess): string | undefined {
  if (child.exitCode !== null) return `exit code ${child.exitCode}`;
  if (child.signalCode !== null) return `signal ${child.signalCode}`;
  return undefined;
}

export function spawnLogged(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string }): ChildProcess {
  const log = openSync(options.logFile, 'a');
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log] });
  closeSync(log);
  return child;
}

/** Polls a URL until it answers 200, failing early when the process exits. */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: the server exited (${child.exitCode ?? child.signalCode}) before being ready; log:\n${logTail(logFile)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s; log:\n${logTail(logFile)}`);
}

export function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL if the process has not ended after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
