/**
 * `astreinte audit verify [--from <seq>] [--anchor <seq>:<hash>]...`: recomputes the hash chain of the audit
 * trail. Exit 0 intact (one summary line on stdout), 1 broken (the first broken event on stderr), 2 wrong
 * arguments, 3 the trail cannot be read (no database, no audit tables).
 *
 * `astreinte audit export --from <ISO> --to <ISO> [--out <file>] [--site <name>]`: the events recorded in
 * [from, to) as FHIR R4 AuditEvent resources, one per line, on stdout or into <file> (written beside it, then
 * renamed: a reader never sees half a file). Exit 0, 2 wrong arguments, 3 the trail cannot be read.
 *
 * The database is the application's: DATABASE_URL, or the embedded server of ASTREINTE_DATA_DIR (reused when
 * the gateway runs, started and stopped again when it does not). Both commands append their own use of the
 * trail to it (110101 Audit Log Used; a broken chain also a 110113 Security Alert).
 */
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigurationError } from '../../core/configuration-error.ts';
import { loadSettings, type Settings } from '../../config/settings.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import { createClock, DEFAULT_CLOCK_TIME_ZONE } from '../../core/time/clock.ts';
import { parseInstant } from '../../core/time/wall-time.ts';
import { systemActor, type AuditEventInput } from '../../audit/audit-event.ts';
import { HASH_PATTERN } from '../../audit/audit-hash.ts';
import { AuditTrail } from '../../audit/audit-trail.ts';
import { exportAuditEvents } from '../../audit/export-audit-events.ts';
import { readLatestExportedHead } from '../../audit/audit-head-export.ts';
import { verifyAuditChain, type AuditAnchor, type AuditChainReport } from '../../audit/verify-audit-chain.ts';
import { EXIT_USAGE, parseCommandLine, UsageError, type Io } from '../command-line.ts';

export const AUDIT_USAGE = `Usage: astreinte audit verify [--from <seq>] [--anchor <seq>:<hash>]...
       astreinte audit export --from <ISO time> --to <ISO time> [--out <file>] [--site <name>]

verify   recomputes the hash chain; exit 0 intact, 1 broken (names the first broken event), 3 unreadable
  --from     first seq to verify (the event before it is trusted); default 1
  --anchor   a seq and its hash kept outside the database (e.g. from an export); repeatable
export   the events recorded in [from, to) as FHIR R4 AuditEvent, one JSON per line
  --from, --to  e.g. 2026-11-01 or 2026-11-15T02:10:00+01:00 (without offset: Europe/Paris time)
  --out      write to this file instead of stdout
  --site     AuditEvent.source.site (default: ASTREINTE_AUDIT_SITE, else the host name)
The database is DATABASE_URL, or the embedded server of ASTREINTE_DATA_DIR.
`;

export const EXIT_BROKEN = 1;
export { EXIT_USAGE };
export const EXIT_UNREADABLE = 3;

export async function runAuditCommand(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = process): Promise<number> {
  const [subcommand, ...rest] = argv;
  try {
    switch (subcommand) {
      case 'verify':
        return await verify(rest, env, io);
      case 'export':
        return await exportEvents(rest, env, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(AUDIT_USAGE);
        return subcommand === undefined ? EXIT_USAGE : 0;
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(subcommand)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`astreinte audit: ${error.message}\n\n${AUDIT_USAGE}`);
      return EXIT_USAGE;
    }
    if (error instanceof ConfigurationError) {
      io.stderr.write(`${error.message}\n`);
      return EXIT_UNREADABLE;
    }
    io.stderr.write(`astreinte audit ${subcommand}: ${(error as Error).message}\n`);
    return EXIT_UNREADABLE;
  }
}

async function verify(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, { from: { type: 'string' }, anchor: { type: 'string', multiple: true } });
  const from = values.from === undefined ? 1 : parseSeq(String(values.from), '--from');
  const anchors = ((values.anchor as string[] | undefined) ?? []).map(parseAnchor);
  return withTrail(env, io, async (database, trail, settings) => {
    const sink = settings.auditHeadExport.sink;
    const exported = sink.kind === 'file' ? await readLatestExportedHead(sink.path) : undefined;
    const exportedAnchor = exported && exported.seq > 0 && exported.seq >= from ? [{ seq: exported.seq, hash: exported.hash }] : [];
    const against = exported
      ? `checked against the head exported to ${sink.kind === 'file' ? sink.path : ''} at ${exported.exported}: seq ${exported.seq}, hash ${exported.hash}`
      : sink.kind === 'file'
        ? `no exported head in ${sink.path} to check against`
        : `the head is exported to ${sink.kind}: give its latest seq and hash as --anchor to check against it`;
    let report: AuditChainReport;
    try {
      report = await verifyAuditChain(database.pool, { from, anchors: [...anchors, ...exportedAnchor] });
    } catch (error) {
      if (error instanceof RangeError) throw new UsageError(error.message);
      throw error;
    }
    if (report.ok) {
      io.stdout.write(`${summary(report, from)}\n${against}\n`);
      await recordUse(trail, io, {
        type: '110101',
        subtype: 'audit-verify',
        action: 'E',
        outcomeDescription: `chain intact from seq ${from} to ${report.last?.seq ?? from - 1}`,
      });
      return 0;
    }
    const broken = report.break!;
    const before = report.last ? ` (${report.count} events verified before it, seq ${report.first!.seq}..${report.last.seq})` : '';
    io.stderr.write(`audit trail BROKEN at seq ${broken.seq} (${broken.kind}): ${broken.message}${before}\n${against}\n`);
    await recordUse(trail, io, {
      type: '110113',
      subtype: 'audit-chain-broken',
      action: 'E',
      outcome: 8,
      outcomeDescription: `audit chain broken at seq ${broken.seq} (${broken.kind})`,
    });
    return EXIT_BROKEN;
  });
}

async function exportEvents(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parseCommandLine(argv, {
    from: { type: 'string' },
    to: { type: 'string' },
    out: { type: 'string' },
    site: { type: 'string' },
  });
  if (values.from === undefined || values.to === undefined) throw new UsageError('export needs --from and --to');
  const from = parseTime(String(values.from), '--from');
  const to = parseTime(String(values.to), '--to');
  if (from.getTime() >= to.getTime()) throw new UsageError('--from must be before --to');
  const site = (values.site as string | undefined) ?? loadSettings(env).auditSite ?? os.hostname();
  const out = values.out === undefined ? undefined : path.resolve(String(values.out));

  return withTrail(env, io, async (database, trail) => {
    const partial = out === undefined ? undefined : `${out}.partial`;
    const file = partial === undefined ? undefined : await open(partial, 'w', 0o600);
    let summary;
    try {
      summary = await exportAuditEvents(database.pool, { from, to }, async (text) => {
        if (file) await file.write(text);
        else await writeStdout(io, text);
      }, { site });
      if (file) {
        await file.sync();
        await file.close();
        await rename(partial!, out!);
      }
    } catch (error) {
      await file?.close().catch(() => undefined);
      if (partial) await rm(partial, { force: true });
      throw error;
    }
    const seqs = summary.count > 0 ? ` (seq ${summary.minSeq}..${summary.maxSeq})` : '';
    io.stderr.write(
      `exported ${summary.count} audit events${seqs} recorded from ${from.toISOString()} to ${to.toISOString()}${out ? ` into ${out}` : ''}\n`,
    );
    await recordUse(trail, io, {
      type: '110101',
      subtype: 'audit-export',
      action: 'R',
      entities: [
        {
          kind: 'record',
          recordType: 'audit-export',
          id: `${from.toISOString()}/${to.toISOString()}`,
          description: `${summary.count} events${seqs}, FHIR AuditEvent NDJSON`,
        },
      ],
    });
    return 0;
  });
}

/** Opens the application's database (refusing to create one where there is none) and the trail. */
async function withTrail(
  env: NodeJS.ProcessEnv,
  io: Io,
  use: (database: Database, trail: AuditTrail, settings: Settings) => Promise<number>,
): Promise<number> {
  const settings: Settings = loadSettings(env);
  const clock = createClock(settings.clockStart);
  if (settings.database.kind === 'embedded' && !existsSync(path.join(settings.database.dir, 'PG_VERSION'))) {
    io.stderr.write(
      `astreinte audit: there is no database in ${settings.database.dir} (ASTREINTE_DATA_DIR=${settings.dataDir}): ` +
        'nothing to read. Point ASTREINTE_DATA_DIR at the gateway\'s data directory, or set DATABASE_URL.\n',
    );
    return EXIT_UNREADABLE;
  }
  const database = await openDatabase(settings.database, { maxConnections: 2 });
  try {
    const { rows } = await database.query<{ present: boolean }>("SELECT to_regclass('audit_event') IS NOT NULL AS present");
    if (!rows[0].present) {
      io.stderr.write(
        'astreinte audit: this database holds no audit trail (table audit_event missing): start the gateway once to ' +
          'create it, or check DATABASE_URL / ASTREINTE_DATA_DIR.\n',
      );
      return EXIT_UNREADABLE;
    }
    return await use(database, new AuditTrail(database.pool, { clock, observer: `${os.hostname()} (cli)` }), settings);
  } finally {
    await database.close();
  }
}

/** The command's own use of the trail; a failure to record it is reported but changes no exit code. */
async function recordUse(trail: AuditTrail, io: Io, event: Omit<AuditEventInput, 'actor'>): Promise<void> {
  const user = safeUserName();
  try {
    await trail.record({ ...event, actor: systemActor(`cli:${user}`) });
  } catch (error) {
    io.stderr.write(`astreinte audit: warning: this command's own audit event was not recorded: ${(error as Error).message}\n`);
  }
}

function summary(report: AuditChainReport, from: number): string {
  const head = `head hash ${report.head?.hash ?? 'none'}`;
  const scope = from > 1 ? ` from seq ${from}` : '';
  if (!report.first || !report.last) return `audit trail intact: 0 events${scope}, ${head}`;
  return (
    `audit trail intact: ${report.count} events${scope}, seq ${report.first.seq} (${report.first.recorded}) to ` +
    `${report.last.seq} (${report.last.recorded}), ${head}`
  );
}

function parseSeq(text: string, option: string): number {
  const seq = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1) throw new UsageError(`${option} ${JSON.stringify(text)}: give a seq number (1 or more)`);
  return seq;
}

function parseAnchor(text: string): AuditAnchor {
  const [seq, hash] = text.split(':');
  if (hash === undefined || !HASH_PATTERN.test(hash.toLowerCase())) {
    throw new UsageError(`--anchor ${JSON.stringify(text)}: write <seq>:<64 hex digits>, e.g. 1200:3f5a...`);
  }
  return { seq: parseSeq(seq, '--anchor'), hash: hash.toLowerCase() };
}

function parseTime(text: string, option: string): Date {
  const withTime = /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()}T00:00` : text;
  const instant = parseInstant(withTime, DEFAULT_CLOCK_TIME_ZONE);
  if (!instant) {
    throw new UsageError(`${option} ${JSON.stringify(text)}: not an ISO 8601 date or date-time (e.g. 2026-11-01 or 2026-11-15T02:10:00+01:00)`);
  }
  return instant;
}

/** Waits for stdout to drain so that a large export to a pipe does not pile up in memory. */
function writeStdout(io: Io, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdout = io.stdout as NodeJS.WritableStream;
    if (typeof stdout.once !== 'function') {
      io.stdout.write(text);
      resolve();
      return;
    }
    const ok = stdout.write(text, (error?: Error | null) => (error ? reject(error) : undefined));
    if (ok) resolve();
    else stdout.once('drain', () => resolve());
  });
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
