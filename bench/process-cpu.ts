// CPU time of a process read from /proc (Linux only): lets a workload wait until a server is idle.
import { readFileSync } from 'node:fs';
import { descendants } from './process-memory.ts';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds used so far by each of the processes and of all their descendants. */
export function cpuByProcess(roots: readonly number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of new Set(roots.flatMap((root) => [root, ...descendants(root)]))) {
    try {
      seconds.set(pid, cpuSeconds(pid));
    } catch {
      // ended between listing and reading
    }
  }
  return seconds;
}

/**
 * CPU seconds used between two readings of cpuByProcess, by all the processes or by `only`: all of it for a
 * process that started in between.
 */
export function cpuUsedBetween(before: Map<number, number>, after: Map<number, number>, only?: number): number {
  let used = 0;
  for (const [pid, seconds] of after) if (only === undefined || pid === only) used += seconds - (before.get(pid) ?? 0);
  return used;
}

/**
 * Waits until the server's processes, with their descendants, used less than `busyShare` of one core in each
 * of `quietSeconds` consecutive seconds (background work done: a server still digesting what it was just sent,
 * routing, indexing, compaction), or `maxMs` went by. Returns how long it waited and whether the server was found idle.
 */
export async function waitUntilIdle(
  processes: () => number[],
  options: { busyShare?: number; quietSeconds?: number; maxMs?: number } = {},
): Promise<{ waitedMs: number; idle: boolean }> {
  const busyShare = options.busyShare ?? 0.1;
  const quietSeconds = options.quietSeconds ?? 1;
  const maxMs = options.maxMs ?? 120_000;
  const started = performance.now();
  let previous = cpuByProcess(processes());
  let quiet = 0;
  while (performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = cpuByProcess(processes());
    quiet = cpuUsedBetween(previous, now) < busyShare ? quiet + 1 : 0;
    if (quiet >= quietSeconds) return { waitedMs: performance.now() - started, idle: true };
    previous = now;
  }
  return { waitedMs: performance.now() - started, idle: false };
}
