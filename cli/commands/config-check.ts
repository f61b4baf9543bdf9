/**
 * `astreinte config check [<file>]`: validates a region configuration. Exit 0 with a one-line summary on
 * stdout when valid; exit 1 with one `file:line:column: message` line per problem on stderr otherwise;
 * exit 2 on wrong arguments. Without a file, checks ASTREINTE_CONFIG or the shipped default.
 */
import path from 'node:path';
import { loadRegionConfig } from '../../config/region/load-region-config.ts';
import type { RegionConfig } from '../../config/region/region-config.ts';
import { formatProblem, RegionConfigError } from '../../config/region/region-config-error.ts';
import { loadSettings } from '../../config/settings.ts';
import { parseCommandLine, reportUsageError, UsageError, type Io } from '../command-line.ts';

export const CONFIG_CHECK_USAGE = `Usage: astreinte config check [<file>]

Checks a region configuration (YAML) and prints every problem as file:line:column: message.
Without <file>, checks $ASTREINTE_CONFIG or the default config/examples/midi-pyrenees.yaml.
`;

/** `argv` is what follows `config` (['check', 'file.yaml']) or what follows `config check`. */
export async function runConfigCheck(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = process): Promise<number> {
  let positionals: string[];
  let help = false;
  try {
    const parsed = parseCommandLine(argv, { help: { type: 'boolean', short: 'h' } }, true);
    positionals = parsed.positionals;
    help = parsed.values.help === true;
  } catch (error) {
    if (error instanceof UsageError) return reportUsageError(io, 'config check', CONFIG_CHECK_USAGE, error.message);
    throw error;
  }
  if (help) {
    io.stdout.write(CONFIG_CHECK_USAGE);
    return 0;
  }
  if (positionals[0] === 'check') positionals = positionals.slice(1);
  if (positionals.length > 1) {
    return reportUsageError(io, 'config check', CONFIG_CHECK_USAGE, `give one file, not ${positionals.length}`);
  }
  const file = positionals[0] ?? displayPath(loadSettings(env).regionConfigPath);
  try {
    const config = await loadRegionConfig(file);
    io.stdout.write(`${file}: valid. ${summary(config)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof RegionConfigError)) throw error;
    for (const problem of error.problems) io.stderr.write(`${formatProblem(file, problem)}\n`);
    const n = error.problems.length;
    io.stderr.write(`${file}: ${n} problem${n === 1 ? '' : 's'}, the configuration cannot be used\n`);
    return 1;
  }
}

function summary(config: RegionConfig): string {
  const archiveOnly = config.sites.filter((s) => s.membership === 'archive-only').length;
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  return (
    `Region ${config.region.id} (${config.region.name}): ${count(config.territories.length, 'territory', 'territories')}, ` +
    `${count(config.sites.length, 'site')} (${config.sites.length - archiveOnly} full, ${archiveOnly} archive-only), ` +
    `${count(config.readers.length, 'reader')}, ${count(config.pools.length, 'pool')}, ${count(config.rotas.length, 'rota')}, ` +
    `${count(config.rules.length, 'routing rule')}.`
  );
}

function displayPath(absolute: string): string {
  const relative = path.relative(process.cwd(), absolute);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
}
