/**
 * `astreinte report verify [--all | <report id>]`: checks every stored report version (or one report and its
 * addenda) against its signature and its stored SR and PDF. Exit 0 all intact (one summary line), 1 something
 * altered (one line per altered version on stderr, naming what), 2 wrong arguments, 3 nothing could be read.
 * The database and object store are the application's (DATABASE_URL / ASTREINTE_DATA_DIR, S3_*).
 */
import { ConfigurationError } from '../../core/configuration-error.ts';
import { loadSettings } from '../../config/settings.ts';
import { openDatabase } from '../../storage/database/database.ts';
import { createObjectStore } from '../../storage/objects/create-object-store.ts';
import { PostgresReportStore } from '../../storage/report/postgres-report-store.ts';
import { verifySignedReports } from '../../storage/report/verify-signed-reports.ts';
import { EXIT_USAGE, parseCommandLine, UsageError, type Io } from '../command-line.ts';

export const REPORT_USAGE = `Usage: astreinte report verify [--all | <report id>]

verify   checks each signed report version against its signature, its stored SR and its stored PDF;
         exit 0 intact, 1 altered (names the report, the version and what was altered), 3 unreadable
The database is DATABASE_URL, or the embedded server of ASTREINTE_DATA_DIR; objects as the gateway stores them.
`;

export async function runReportCommand(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = process): Promise<number> {
  const [subcommand, ...rest] = argv;
  try {
    if (subcommand === undefined || subcommand === 'help' || subcommand === '--help' || subcommand === '-h') {
      io.stdout.write(REPORT_USAGE);
      return subcommand === undefined ? EXIT_USAGE : 0;
    }
    if (subcommand !== 'verify') throw new UsageError(`unknown subcommand ${JSON.stringify(subcommand)}`);
    const { values, positionals } = parseCommandLine(rest, { all: { type: 'boolean' } }, true);
    if (values.all && positionals.length > 0) throw new UsageError('give either --all or one report id, not both');
    if (positionals.length > 1) throw new UsageError('give at most one report id');
    return await verify(positionals[0], env, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`astreinte report: ${error.message}\n\n${REPORT_USAGE}`);
      return EXIT_USAGE;
    }
    io.stderr.write(`astreinte report ${subcommand}: ${error instanceof ConfigurationError ? error.message : (error as Error).message}\n`);
    return 3;
  }
}

async function verify(only: string | undefined, env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const settings = loadSettings(env);
  const database = await openDatabase(settings.database, { maxConnections: 2 });
  const objects = createObjectStore(settings.objectStore);
  try {
    await objects.init();
    const store = new PostgresReportStore(database);
    await store.migrate();
    const { checked, altered } = await verifySignedReports(store, objects, only);
    for (const finding of altered) {
      io.stderr.write(`report ${finding.reportId} version ${finding.version} ALTERED: ${finding.problems.join('; ')}\n`);
    }
    if (altered.length > 0) {
      io.stderr.write(`${altered.length} of ${checked} signed report versions altered\n`);
      return 1;
    }
    io.stdout.write(`${checked} signed report version${checked === 1 ? '' : 's'} verified: signatures, SR and PDF intact\n`);
    return 0;
  } finally {
    await objects.close();
    await database.close();
  }
}
