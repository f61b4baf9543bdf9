// CPU time of a process read from /proc (Linux only): lets a workload wait until a server is idle.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields resume after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Waits until the process used less than `busyShare` of one core in each of `quietSeconds` consecutive
 * seconds (background work done: a server still digesting what it was just sent, routing, indexing,
 * compaction), or `maxMs` went by. Returns how long it waited and whether the server was found idle.
 */
export async function waitUntilIdle(
  pid: number,
  options: { busyShare?: number; quietSeconds?: number; maxMs?: number } = {},
): Promise<{ waitedMs: number; idle: boolean }> {
  const busyShare = options.busyShare ?? 0.1;
  const quietSeconds = options.quietSeconds ?? 1;
  const maxMs = options.maxMs ?? 120_000;
  const started = performance.now();
  let previous = cpuSeconds(pid);
  let quiet = 0;
  while (performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = cpuSeconds(pid);
    quiet = now - previous < busyShare ? quiet + 1 : 0;
    if (quiet >= quietSeconds) return { waitedMs: performance.now() - started, idle: true };
    previous = now;
  }
  return { waitedMs: performance.now() - started, idle: false };
}
