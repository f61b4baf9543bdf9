// Small statistics and number formatting helpers shared by the benchmark workloads and the report.

/** Nearest-rank percentile (p in 0..100) of a list of samples; NaN for an empty list. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  if (p < 0 || p > 100) throw new RangeError(`percentile must be between 0 and 100, got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Megabytes (10^6 bytes) per second. */
export function megabytesPerSecond(bytes: number, milliseconds: number): number {
  if (milliseconds <= 0) return Number.NaN;
  return bytes / 1e6 / (milliseconds / 1000);
}

export function perSecond(count: number, milliseconds: number): number {
  if (milliseconds <= 0) return Number.NaN;
  return count / (milliseconds / 1000);
}

/** Three significant digits, thousands separated: 1234.5 -> "1,235", 12.345 -> "12.3", 0.3456 -> "0.346". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const magnitude = Math.abs(value);
  const decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/**
 * Ours relative to a peer, as the factor by which ours is better ("2.10× better") or worse.
 * `higherIsBetter` is true for throughputs, false for latencies and memory.
 */
export function formatRatio(ours: number, peer: number, higherIsBetter: boolean): string {
  if (!Number.isFinite(ours) || !Number.isFinite(peer) || ours <= 0 || peer <= 0) return '–';
  const factor = higherIsBetter ? ours / peer : peer / ours;
  if (factor >= 1) return `${formatFactor(factor)}× better`;
  return `${formatFactor(1 / factor)}× worse`;
}

function formatFactor(factor: number): string {
  return factor >= 10 ? factor.toFixed(0) : factor.toFixed(2);
}

/** A share of a ceiling, as a whole percentage: (391, 456) -> "86%". */
export function formatShare(value: number, ceiling: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(ceiling) || ceiling <= 0) return '–';
  return `${Math.round((value / ceiling) * 100)}%`;
}
