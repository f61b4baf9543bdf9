/**
 * Tunables of the routing worker, read from the environment once at start. A bad value stops start-up with a
 * message naming the variable and what to put there.
 */
export interface RoutingOptions {
  /** A study is stable when no instance arrived for this long (ASTREINTE_STABILITY_SECONDS, default 10 s). */
  stabilityMs: number;
  /**
   * Period of the safety sweep that routes stable studies whose job was lost and takes escalation hops whose
   * job was lost (ASTREINTE_ROUTING_SWEEP_SECONDS, default 30 s; 0 turns it off).
   */
  sweepIntervalMs: number;
  /** Routing jobs processed at once by this process (ASTREINTE_ROUTING_CONCURRENCY, default 8). */
  concurrency: number;
  /**
   * Whether this process runs workers (routing, escalation, sweeps) or only records activity and enqueues jobs
   * for worker processes started with `astreinte worker` (ASTREINTE_ROUTING_CONSUME, default true).
   */
  consume: boolean;
}

export const DEFAULT_ROUTING_OPTIONS: Readonly<RoutingOptions> = {
  stabilityMs: 10_000,
  sweepIntervalMs: 30_000,
  concurrency: 8,
  consume: true,
};

export class RoutingOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`The routing worker cannot start, fix the configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RoutingOptionsError';
  }
}

export function loadRoutingOptions(env: NodeJS.ProcessEnv = process.env): RoutingOptions {
  const problems: string[] = [];
  const seconds = (name: string, fallbackMs: number, min: number, max: number): number => {
    const text = env[name]?.trim();
    if (!text) return fallbackMs;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(text)}: must be a number of seconds between ${min} and ${max} (decimals allowed)`);
      return fallbackMs;
    }
    return Math.round(value * 1000);
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(text)}: must be a whole number between ${min} and ${max}`);
      return fallback;
    }
    return value;
  };
  const consumeText = env.ASTREINTE_ROUTING_CONSUME?.trim().toLowerCase();
  if (consumeText && consumeText !== 'true' && consumeText !== 'false') {
    problems.push(`ASTREINTE_ROUTING_CONSUME=${JSON.stringify(consumeText)}: must be true or false`);
  }
  const options: RoutingOptions = {
    stabilityMs: seconds('ASTREINTE_STABILITY_SECONDS', DEFAULT_ROUTING_OPTIONS.stabilityMs, 0, 3600),
    sweepIntervalMs: seconds('ASTREINTE_ROUTING_SWEEP_SECONDS', DEFAULT_ROUTING_OPTIONS.sweepIntervalMs, 0, 3600),
    concurrency: integer('ASTREINTE_ROUTING_CONCURRENCY', DEFAULT_ROUTING_OPTIONS.concurrency, 1, 64),
    consume: consumeText ? consumeText === 'true' : DEFAULT_ROUTING_OPTIONS.consume,
  };
  if (problems.length > 0) throw new RoutingOptionsError(problems);
  return options;
}
