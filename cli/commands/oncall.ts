/**
 * `astreinte oncall [--at <ISO time>] [--territory <id>] [--pool <id>]`: prints as JSON who is on call in
 * each pool at that instant and under which rota entry (weekly pattern, public holiday, dated assignment).
 * Without --at, uses the system clock (or ASTREINTE_NOW). A time without offset is read in the region's
 * time zone. Config: ASTREINTE_CONFIG or the shipped default. Exit 0 printed, 1 configuration unusable,
 * 2 wrong arguments.
 */
import { loadRegionConfig } from '../../config/region/load-region-config.ts';
import { formatProblem, RegionConfigError } from '../../config/region/region-config-error.ts';
import { loadSettings } from '../../config/settings.ts';
import { onCallAnswerToJson } from '../../config/oncall/on-call-json.ts';
import { onCallAt, UnknownPoolError, UnknownTerritoryError } from '../../config/oncall/resolve-on-call.ts';
import { ConfigurationError } from '../../core/configuration-error.ts';
import { createClock } from '../../core/time/clock.ts';
import { formatInstant, parseInstant } from '../../core/time/wall-time.ts';
import { parseCommandLine, reportUsageError, UsageError, type Io } from '../command-line.ts';

export const ONCALL_USAGE = `Usage: astreinte oncall [--at <ISO time>] [--territory <id>] [--pool <id>]

Prints, as JSON, who is on call in each pool at that instant and under which rota entry.
  --at         e.g. 2026-11-15T02:10:00+01:00, or 2026-11-15T02:10 (region's local time); default now
  --territory  only that territory's pools and the regional ones
  --pool       only that pool
The region configuration is $ASTREINTE_CONFIG or config/examples/midi-pyrenees.yaml.
`;

export async function runOncall(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = process): Promise<number> {
  let values;
  try {
    ({ values } = parseCommandLine(argv, {
      at: { type: 'string' },
      territory: { type: 'string' },
      pool: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, error.message);
    throw error;
  }
  if (values.help) {
    io.stdout.write(ONCALL_USAGE);
    return 0;
  }

  let settings;
  try {
    settings = loadSettings(env);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    io.stderr.write(`astreinte oncall: ${error.message}\n`);
    return 1;
  }
  const file = settings.regionConfigPath;
  let config;
  try {
    config = await loadRegionConfig(file);
  } catch (error) {
    if (!(error instanceof RegionConfigError)) throw error;
    for (const problem of error.problems) io.stderr.write(`${formatProblem(file, problem)}\n`);
    io.stderr.write(`astreinte oncall: the region configuration ${file} cannot be used (see astreinte config check)\n`);
    return 1;
  }

  let at: Date;
  if (values.at !== undefined) {
    const parsed = parseInstant(values.at, config.region.timezone);
    if (!parsed) {
      return usageError(io, `--at ${JSON.stringify(values.at)} is not an ISO 8601 date and time (e.g. 2026-11-15T02:10:00+01:00)`);
    }
    at = parsed;
  } else {
    at = createClock(settings.clockStart).now();
  }

  try {
    const answers = onCallAt(config, at, {
      ...(values.territory === undefined ? {} : { territory: values.territory }),
      ...(values.pool === undefined ? {} : { pool: values.pool }),
    });
    const output = {
      at: formatInstant(at, config.region.timezone),
      region: config.region.id,
      config: config.source,
      pools: answers.map(onCallAnswerToJson),
    };
    io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UnknownPoolError || error instanceof UnknownTerritoryError) return usageError(io, error.message);
    throw error;
  }
}

function usageError(io: Io, message: string): number {
  return reportUsageError(io, 'oncall', ONCALL_USAGE, message);
}
