// Turns the measured metrics into the console table, the JSON record and docs/benchmarks.md.
import type { RoutingRun } from './routing-bench.ts';
import { reportBenchLines, type ReportBenchResult } from './report-bench.ts';
import type { Ceilings, DurableShape } from './machine-ceilings.ts';
import type { CeilingKind, Metric } from './workloads.ts';
import { formatNumber, formatRatio, formatShare } from './stats.ts';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
}

export interface ServerRun {
  name: string;
  version: string;
  metrics: Metric[];
  /** Why the run is missing or incomplete. */
  error?: string;
  durationMs: number;
}

export interface BenchReport {
  date: string;
  quick: boolean;
  machine: MachineInfo;
  generator: string;
  /** Best of the runs below, each figure on its own. */
  ceilings: Ceilings;
  /** Measured before and after the servers. */
  ceilingRuns?: Ceilings[];
  servers: ServerRun[];
  /** Routing latency from stability to item visible, per queue backend (no peer: Orthanc does not route). */
  routing?: RoutingRun[];
  /** Report signing throughput and sign -> delivered latency (peer: the same objects sent to Orthanc directly). */
  reports?: ReportBenchResult | { error: string };
  notes: string[];
  durationMs: number;
}

/** A target of the issues: our figure under a limit, or at least `times` the peer's figure in the same run. */
export type Target =
  | { kind: 'below'; key: string; what: string; limit: number; unit: string }
  | { kind: 'times-peer'; key: string; what: string; times: number };

/** The targets of the issues (issue 3: archive core). */
export const TARGETS: Target[] = [
  { kind: 'below', key: 'metadata.600', what: 'series metadata of a 600-instance series', limit: 50, unit: 'ms' },
  { kind: 'below', key: 'qido.10000.date.p95', what: 'QIDO StudyDate p95 with 10,000 studies', limit: 20, unit: 'ms' },
  { kind: 'below', key: 'qido.10000.pid.p95', what: 'QIDO PatientID p95 with 10,000 studies', limit: 20, unit: 'ms' },
  { kind: 'below', key: 'qido.10000.name.p95', what: 'QIDO PatientName p95 with 10,000 studies', limit: 20, unit: 'ms' },
  { kind: 'below', key: 'rss.big', what: 'peak RSS while ingesting a 1 GB study', limit: 300, unit: 'MB' },
  { kind: 'times-peer', key: 'stow1.mbps', what: 'STOW-RS one instance per request', times: 2 },
  { kind: 'times-peer', key: 'stow10.mbps', what: 'STOW-RS 10 instances per request', times: 2 },
  { kind: 'times-peer', key: 'stowDx.mbps', what: 'STOW-RS one 15 MB DX', times: 2 },
  { kind: 'times-peer', key: 'stow50.mbps', what: 'STOW-RS 50 instances per request', times: 2 },
  { kind: 'times-peer', key: 'big.mbps', what: 'STOW-RS of a 1 GB study', times: 2 },
  { kind: 'times-peer', key: 'wado.series.mbps', what: 'WADO-RS series retrieve', times: 2 },
  // issue 16: DICOM network entry
  { kind: 'times-peer', key: 'dimse.1.ips', what: 'C-STORE (storescu) over one association', times: 1.5 },
  { kind: 'times-peer', key: 'dimse.4.ips', what: 'C-STORE (storescu) over 4 associations in parallel', times: 1.5 },
];

const OURS = 'astreinte';
const PEER = 'orthanc';

function ceilingValue(ceilings: Ceilings, kind: CeilingKind | undefined): number {
  if (kind === 'loopbackPostToDisk') return ceilings.loopbackPostToDiskMBps;
  if (kind === 'loopbackGet') return ceilings.loopbackGetMBps;
  const shape = durableShapeOf(kind);
  // STOW of CT slices is compared with the receiver that keeps each instance as its own object, as we do (older
  // result files only have the one-file-per-request receiver).
  if (shape) return ceilings.perInstanceReceiver?.[shape] ?? ceilings.durableReceiver?.[shape] ?? Number.NaN;
  return Number.NaN;
}

function durableShapeOf(kind: CeilingKind | undefined): DurableShape | undefined {
  if (kind === 'durableOne') return 'one';
  if (kind === 'durableTen') return 'ten';
  if (kind === 'durableFifty') return 'fifty';
  return undefined;
}

interface Row {
  label: string;
  unit: string;
  ours: string;
  peer: string;
  ratio: string;
  oursShare: string;
  peerShare: string;
  detail: string;
}

function detailOf(ours: string | undefined, peer: string | undefined): string {
  if (ours && ours === peer) return ours;
  return [ours ? `ours: ${ours}` : '', peer ? `Orthanc: ${peer}` : ''].filter(Boolean).join('; ');
}

export function comparisonRows(report: BenchReport): Row[] {
  const ours = report.servers.find((server) => server.name === OURS)?.metrics ?? [];
  const peer = report.servers.find((server) => server.name === PEER)?.metrics ?? [];
  const keys = [...new Set([...ours, ...peer].map((metric) => metric.key))];
  return keys.map((key) => {
    const mine = ours.find((metric) => metric.key === key);
    const theirs = peer.find((metric) => metric.key === key);
    const shape = (mine ?? theirs) as Metric;
    const ceiling = ceilingValue(report.ceilings, shape.ceiling);
    return {
      label: shape.label,
      unit: shape.unit,
      ours: mine ? formatNumber(mine.value) : '–',
      peer: theirs ? formatNumber(theirs.value) : '–',
      ratio: mine && theirs ? formatRatio(mine.value, theirs.value, shape.higherIsBetter) : '–',
      oursShare: mine && shape.ceiling ? formatShare(mine.value, ceiling) : '',
      peerShare: theirs && shape.ceiling ? formatShare(theirs.value, ceiling) : '',
      detail: detailOf(mine?.detail, theirs?.detail),
    };
  });
}

function ceilingRows(ceilings: Ceilings): [string, string][] {
  return [
    ['Sequential disk write, fdatasync at the end', `${formatNumber(ceilings.diskWriteMBps)} MB/s`],
    ['Loopback HTTP POST written to disk with fdatasync (Node server)', `${formatNumber(ceilings.loopbackPostToDiskMBps)} MB/s`],
    ['Loopback HTTP GET from memory (Node server and client)', `${formatNumber(ceilings.loopbackGetMBps)} MB/s`],
    ['Tiny HTTP requests, 4 clients (Node server)', `${formatNumber(ceilings.tinyRequestsPerSecond)} requests/s, p50 ${formatNumber(ceilings.tinyRequestP50Ms)} ms`],
    ...durableRows(ceilings),
  ];
}

const SHAPE_LABELS: Record<DurableShape, string> = {
  one: 'the STOW one-instance-per-request bodies, 4 clients',
  ten: 'the STOW 10-instances-per-request bodies, 4 clients',
  fifty: "the large study's 50-instances-per-request bodies, 4 clients",
};

/** Only shapes measured in this run: older result files have none. */
function durableRows(ceilings: Ceilings): [string, string][] {
  const rows: [string, string][] = [];
  for (const shape of Object.keys(SHAPE_LABELS) as DurableShape[]) {
    const whole = ceilings.durableReceiver?.[shape];
    const perInstance = ceilings.perInstanceReceiver?.[shape];
    if (Number.isFinite(whole)) rows.push([`Durable receiver, one file per request, ${SHAPE_LABELS[shape]}`, `${formatNumber(whole ?? Number.NaN)} MB/s`]);
    if (Number.isFinite(perInstance)) rows.push([`Durable receiver, one file per instance, ${SHAPE_LABELS[shape]}`, `${formatNumber(perInstance ?? Number.NaN)} MB/s`]);
  }
  return rows;
}

export function targetLines(report: BenchReport): string[] {
  const metricsOf = (name: string) => report.servers.find((server) => server.name === name)?.metrics ?? [];
  const find = (name: string, key: string) => metricsOf(name).find((candidate) => candidate.key === key);
  return TARGETS.map((target) => {
    const metric = find(OURS, target.key);
    if (target.kind === 'below') {
      if (!metric || !Number.isFinite(metric.value)) return `${target.what} < ${target.limit} ${target.unit}: not measured`;
      const verdict = metric.value < target.limit ? 'met' : 'NOT met';
      return `${metric.label} < ${target.limit} ${target.unit}: ${metric.value.toFixed(2)} ${target.unit}, ${verdict}`;
    }
    const peer = find(PEER, target.key);
    if (!metric || !peer || !Number.isFinite(metric.value) || !Number.isFinite(peer.value) || peer.value <= 0) {
      return `${target.what} at least ${target.times}× Orthanc: not measured`;
    }
    const ratio = metric.value / peer.value;
    const verdict = ratio >= target.times ? 'met' : 'NOT met';
    const line = `${metric.label} at least ${target.times}× Orthanc: ${formatNumber(metric.value)} against ${formatNumber(peer.value)} ${metric.unit}, ${ratio.toFixed(2)}×, ${verdict}`;
    const shape = durableShapeOf(metric.ceiling);
    if (!shape) return line;
    // How far the target is from what any durable server reaches on this machine with these very requests.
    const needed = target.times * peer.value;
    const shares = [
      [report.ceilings.perInstanceReceiver?.[shape], 'one file per instance'],
      [report.ceilings.durableReceiver?.[shape], 'one file per request'],
    ]
      .filter((entry): entry is [number, string] => Number.isFinite(entry[0]))
      .map(([receiver, keeping], index) =>
        `${formatShare(needed, receiver)} of ${index === 0 ? 'the trivial durable receiver' : 'the one'} keeping ${keeping} (${formatNumber(receiver)} ${metric.unit})`,
      );
    if (shares.length === 0) return line;
    return `${line} (${target.times}× Orthanc is ${formatNumber(needed)} ${metric.unit}: ${shares.join(', ')})`;
  });
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function consoleTable(report: BenchReport): string {
  const header: Row = { label: 'workload', unit: 'unit', ours: 'Astreinte', peer: 'Orthanc', ratio: 'ours vs Orthanc', oursShare: 'ours/ceil', peerShare: 'Orthanc/ceil', detail: '' };
  const rows = [header, ...comparisonRows(report)];
  const columns: (keyof Row)[] = ['label', 'unit', 'ours', 'peer', 'ratio', 'oursShare', 'peerShare'];
  const widths = columns.map((column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => columns.map((column, index) => pad(row[column], widths[index], index >= 2)).join('  '));
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  const ceilings = ceilingRows(report.ceilings).map(([what, value]) => `  ${what}: ${value}`);
  const errors = report.servers.filter((server) => server.error).map((server) => `  ${server.name}: ${server.error}`);
  return [
    ...lines,
    '',
    'Machine ceilings (same run, best of before and after the servers):',
    ...ceilings,
    '',
    'Targets:',
    ...targetLines(report).map((line) => `  ${line}`),
    ...(report.routing ? ['', 'Routing, stability -> item visible:', ...routingLines(report.routing).map((line) => `  ${line}`)] : []),
    ...(report.reports ? ['', 'Reports:', ...reportLines(report.reports).map((line) => `  ${line}`)] : []),
    ...(errors.length > 0 ? ['', 'Problems:', ...errors] : []),
    ...(report.notes.length > 0 ? ['', 'Notes:', ...report.notes.map((note) => `  ${note}`)] : []),
  ].join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function markdownReport(report: BenchReport): string {
  const servers = report.servers.map((server) => `${server.version}${server.error ? ` (${server.error})` : ''}`);
  const table = comparisonRows(report).map((row) =>
    `| ${escapeCell(row.label)} | ${row.unit} | ${row.ours} | ${row.peer} | ${row.ratio} | ${row.oursShare} | ${row.peerShare} | ${escapeCell(row.detail)} |`,
  );
  const minutes = (report.durationMs / 60_000).toFixed(1);
  return `# Benchmarks

Measured by \`npm run bench\` (\`tsx bench/run-bench.ts\`), which rewrites this file after a full run.
Absolute figures depend on the machine: what matters are the ratios against Orthanc and the shares of the
machine's own ceilings, all **measured in the same run** on the same machine.

Run it with \`npm run bench\` (about 10 minutes; \`BENCH_QUICK=1\` for a 1-minute smoke run that leaves this file
alone; \`BENCH_SERVERS=orthanc\` or \`astreinte\` for one server; \`BENCH_KEEP=1\` keeps the temporary directory).
Orthanc is installed by \`scripts/ensure-system-packages.sh orthanc orthanc-dicomweb\` when missing (as root).
Every run also leaves its figures as JSON in \`bench/results/\` (not committed), and the server's log there when
a workload failed.

## How it is measured

- Each server is started privately on free loopback ports with a fresh data directory, driven alone
  (one after the other), then stopped. Orthanc 1.10 with its DICOMweb plugin (Debian packages), storage
  compression off, authentication off; our gateway as \`npm start\` runs it (compiled JavaScript), with its
  default settings and the bearer token of a sending site (it reads back its own studies).
- One server-agnostic DICOMweb client over loopback HTTP/1.1 with keep-alive, ${report.quick ? 'quick (smoke) sizes' : 'full sizes'},
  4 concurrent clients for throughputs; latencies are per request, one client at a time unless stated.
- Data (synthetic, from ${report.generator}): first, untimed, a 60-slice CT (half one instance per request,
  half 10 per request) so that every STOW figure is that of a running server, not of one that just started;
  then a 300-slice 512×512 16-bit CT stored one instance per
  request; another stored 10 per request; a third 10 per request by one client (one request at a time, as a
  modality or a site's router sends); a fourth, twice as long, 10 per request by 4 clients while a viewer in its own
  process reads frames of the first one at a time, 10 ms apart (a radiologist reading while a study arrives);
  a 600-slice series (metadata target); 15 MB chest DX images;
  small one-instance studies that grow the index (stored 100 per request) for QIDO; a ~1 GB study
  stored 50 instances per request while the server's memory is watched (VmHWM of the server process,
  reset just before, and the proportional memory of all its processes: its children and, for our gateway, the
  embedded PostgreSQL server, which pg_ctl runs detached from it; before 2026-12-04 20:00 PostgreSQL was missed).
- QIDO queries are those OHIF sends for its study list (\`limit=101&offset=0&fuzzymatching=false&includefield=...\`):
  StudyDate month ranges, exact PatientID, PatientName \`*fragment*\`; the same pseudo-random picks for every server,
  60 of each kind per index size in a full run (a p95 of 20 samples is one sample). They are timed after 5 untimed queries of each kind, once the server has used less than 10% of a core for
  12 s in a row (at most 5 minutes of waiting): our gateway routes every new study 10 s after its last instance, and 10,000 studies sent in 20 s
  keep its routing worker busy for minutes; the large ingest likewise starts on an idle server.
- Ceilings: a trivial Node server in its own process, warmed up, best of two transfers of 300 MB (POST written
  with 4 MiB writes then fdatasync; GET sent from memory with up to 8 MiB queued), measured before and after
  the servers. The *durable receiver* is the same trivial server taking the very requests of the one- and
  ten-per-request STOW workloads and of the large study, 4 clients, and doing only what any archive that acknowledges durably must
  do: stream the body to a file while computing its SHA-256, fdatasync, rename it into place, fsync the
  directory, answer. No multipart or DICOM parsing, no index, no authentication, no audit: no archive can
  beat it on this machine with these requests. It is measured twice: keeping one file per request, and
  keeping one file per instance (each multipart part streamed to its own file, hashed, fdatasync'd and
  renamed, the directory fsync'd once for parts that finish together), which is what an archive storing each
  instance as its own object, as DICOMweb archives and object stores do, cannot avoid: one flush per instance.
- "ours vs Orthanc": how many times better or worse our figure is (throughputs: higher is better; times
  and memory: lower is better). "/ ceiling": the share of the machine ceiling (below) the throughput reaches:
  STOW of CT slices against the per-instance durable receiver with the same requests (the 600-slice series against the
  large study's requests, also 50 per request), the DX against the loopback
  POST written to disk with fdatasync, WADO against the loopback GET from memory.
  Memory: PSS counts pages shared between processes (libraries, PostgreSQL shared buffers) once, in shares,
  so it can be lower than the RSS of the server process alone.
- Durability is comparable: Orthanc fdatasyncs every file it stores (seen with strace); our gateway
  links the complete spooled part under its key, fdatasyncs it and fsyncs the object's directory together,
  then commits the index (WAL flush) before it answers.
- On a 2-core virtual machine the server, its database and the client share two cores, so one run's
  absolute figures (Orthanc's included) can move by half from one run to the next: compare the ratios of a
  run, and look at several runs before drawing a conclusion from a ratio close to a target.

## Run of ${report.date}${report.quick ? ' (quick smoke run: BENCH_QUICK=1)' : ''}

Machine: ${report.machine.cpus} CPUs (${report.machine.cpuModel}), ${report.machine.memoryGiB} GiB memory,
Linux ${report.machine.kernel}, Node ${report.machine.node}. Servers: ${servers.join('; ')}. The run took ${minutes} minutes.

| workload | unit | Astreinte | Orthanc | ours vs Orthanc | ours / ceiling | Orthanc / ceiling | notes |
|---|---|--:|--:|---|--:|--:|---|
${table.join('\n')}

### Machine ceilings, same run (best of a measurement before and one after the servers)

| what | figure |
|---|---|
${ceilingRows(report.ceilings).map(([what, value]) => `| ${what} | ${value} |`).join('\n')}

${report.routing ? `### Routing: from stability to item visible (target p95 < 500 ms)

${routingLines(report.routing).map((line) => `- ${line}`).join('\n')}

` : ''}${report.reports ? `### Reports: signing and delivery on loopback

${reportLines(report.reports).map((line) => `- ${line}`).join('\n')}

` : ''}### Targets

${targetLines(report).map((line) => `- ${line}`).join('\n')}
${report.notes.length > 0 ? `\n### Notes\n\n${report.notes.map((note) => `- ${note}`).join('\n')}\n` : ''}`;
}

/** One line per queue backend: the burst, p50/p95/p99/max, missing items, and the p95 target. */
export function routingLines(runs: RoutingRun[]): string[] {
  return runs.map((run) => {
    if (!run.result) return `${run.backend}: not measured (${run.error ?? 'unknown error'})`;
    const r = run.result;
    const met = r.p95 < 500 && r.missing === 0 ? 'met' : 'NOT met';
    return (
      `${run.backend} queues: ${r.studies} studies at ${r.ratePerSecond}/s, stability ${r.stabilityMs} ms: ` +
      `p50 ${r.p50.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, max ${r.max.toFixed(0)} ms, ` +
      `${r.missing} missing; p95 < 500 ms ${met}`
    );
  });
}

function reportLines(reports: ReportBenchResult | { error: string }): string[] {
  return 'error' in reports ? [`not measured (${reports.error})`] : reportBenchLines(reports);
}
