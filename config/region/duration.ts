/** Durations as written in the region file: 30m, 1h, 1h30m, 72h, 3d, 90s. */
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === '') return null;
  const [d, h, min, s] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const ms = (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
  return ms > 0 ? ms : null;
}

/** A warning point: a share of the deadline (50%) or a duration after routing (15m). */
export function parseWarningPoint(text: string, deadlineMs: number): number | null {
  const percent = /^(\d{1,3}(?:\.\d+)?)\s*%$/.exec(text.trim());
  if (percent) {
    const share = Number(percent[1]);
    return share > 0 && share <= 100 ? Math.round((deadlineMs * share) / 100) : null;
  }
  const ms = parseDuration(text);
  return ms !== null && ms <= deadlineMs ? ms : null;
}

export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('') || '0s';
}
