// Resident memory of a process (and of its children) read from /proc, Linux only.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface ProcessMemory {
  /** Current resident set, bytes. */
  rss: number;
  /** Peak resident set since start or since the last resetPeak, bytes. */
  peak: number;
}

function statusField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

export function readMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: statusField(status, 'VmRSS'), peak: statusField(status, 'VmHWM') };
}

/** Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux >= 4.0); false when not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/** Every live descendant of a process (children, grandchildren...). */
export function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = parentOf(Number(entry));
    if (parent !== undefined) parents.set(Number(entry), parent);
  }
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const current = frontier.pop() as number;
    for (const [pid, parent] of parents) {
      if (parent === current) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

/**
 * Proportional set size (shared pages divided among their users), bytes; RSS when unavailable; 0 for a process
 * that has no memory (a zombie not reaped yet has an empty smaps_rollup and no VmRSS).
 */
function proportionalSize(pid: number): number {
  let size: number;
  try {
    size = statusField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    size = readMemory(pid).rss;
  }
  return Number.isNaN(size) ? 0 : size;
}

/**
 * Memory of processes and all their descendants, bytes: the sum of their proportional set sizes, so
 * memory shared between them (PostgreSQL's shared buffers) is counted once.
 */
export function treeRss(roots: readonly number[]): number {
  let total = 0;
  for (const pid of new Set(roots.flatMap((root) => [root, ...descendants(root)]))) {
    try {
      total += proportionalSize(pid);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return total;
}

/** Samples the memory of the process trees periodically; stop() returns the highest sum seen. */
export function sampleTreeRss(roots: () => number[], intervalMs: number): { stop: () => number } {
  let highest = treeRss(roots());
  const timer = setInterval(() => {
    highest = Math.max(highest, treeRss(roots()));
  }, intervalMs);
  return {
    stop(): number {
      clearInterval(timer);
      return Math.max(highest, treeRss(roots()));
    },
  };
}
