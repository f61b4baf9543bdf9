import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../core/configuration-error.ts';
import { DEFAULT_ROUTING_OPTIONS, loadSettings } from '../../../config/settings.ts';

const loadRoutingOptions = (env: NodeJS.ProcessEnv) => loadSettings(env).routing;

describe('routing options from the environment', () => {
  it('defaults: stable after 10 s, sweep every 30 s, 8 jobs at once, workers on', () => {
    expect(loadRoutingOptions({})).toEqual({ stabilityMs: 10_000, sweepIntervalMs: 30_000, concurrency: 8, consume: true });
    expect(loadRoutingOptions({})).toEqual(DEFAULT_ROUTING_OPTIONS);
  });

  it('reads seconds with decimals, a concurrency and whether to consume', () => {
    expect(
      loadRoutingOptions({
        ASTREINTE_STABILITY_SECONDS: '0.25',
        ASTREINTE_ROUTING_SWEEP_SECONDS: '0',
        ASTREINTE_ROUTING_CONCURRENCY: '3',
        ASTREINTE_ROUTING_CONSUME: 'FALSE',
      }),
    ).toEqual({ stabilityMs: 250, sweepIntervalMs: 0, concurrency: 3, consume: false });
  });

  it('names every bad variable and what to put there', () => {
    const error = (() => {
      try {
        loadRoutingOptions({ ASTREINTE_STABILITY_SECONDS: 'ten', ASTREINTE_ROUTING_CONCURRENCY: '0', ASTREINTE_ROUTING_CONSUME: 'yes' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    const { problems } = error as ConfigurationError;
    expect(problems).toEqual([
      'ASTREINTE_ROUTING_CONSUME="yes": must be true or false',
      'ASTREINTE_STABILITY_SECONDS="ten": must be a number of seconds between 0 and 3600 (decimals allowed)',
      'ASTREINTE_ROUTING_CONCURRENCY="0": must be a whole number between 1 and 64',
    ]);
  });
});
