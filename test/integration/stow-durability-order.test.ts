/**
 * Acknowledged means durable, proven on the system calls (issue 13, "Durability, proven"). Killing the gateway
 * (stow-crash.test.ts) cannot tell a flushed file from one in the page cache: that test would pass with every
 * fsync removed. Here strace follows the gateway and its PostgreSQL server during one STOW and the order is
 * asserted: the object's data flushed and its directory flushed, then the index statement sent, then the
 * commit's WAL flushed, all finished before the first byte of the answer is written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { multipartRequest } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const STRACE = '/usr/bin/strace';
const SAINT_GIRONS = '090000050';

interface Call {
  pid: number;
  name: string;
  /** The arguments as printed (with -yy: fds annotated with their path or TCP endpoints). */
  args: string;
  start: number;
  end: number;
  ok: boolean;
}

/** Parses `strace -f -ttt -T -yy` output, joining `<unfinished ...>` and `<... resumed>` halves. */
function parseStrace(text: string): Call[] {
  const calls: Call[] = [];
  const pending = new Map<string, { name: string; args: string; start: number }>();
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+) (.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const at = Number(m[2]);
    const rest = m[3];
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      pending.set(`${pid}:${unfinished[1]}`, { name: unfinished[1], args: unfinished[2], start: at });
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)\) += (-?\d+)/.exec(rest);
    if (resumed) {
      const first = pending.get(`${pid}:${resumed[1]}`);
      pending.delete(`${pid}:${resumed[1]}`);
      if (first) calls.push({ pid, name: first.name, args: first.args + resumed[2], start: first.start, end: at, ok: Number(resumed[3]) >= 0 });
      continue;
    }
    const whole = /^(\w+)\((.*)\) += (-?\d+).*<(\d+\.\d+)>$/.exec(rest);
    if (whole) calls.push({ pid, name: whole[1], args: whole[2], start: at, end: at + Number(whole[4]), ok: Number(whole[3]) >= 0 });
  }
  return calls;
}

/** The process and every process below it (PostgreSQL's backends, checkpointer, WAL writer...). */
async function withDescendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[1]) parents.set(Number(entry), Number(fields[1]));
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of parents) if (ppid === found[i]) found.push(pid);
  return found;
}

describe('a STOW-RS answer is written only after the object and its index row are on disk', () => {
  let gw: GatewayProcess;
  let strace: ChildProcess | undefined;
  const traceFile = path.join(os.tmpdir(), `astreinte-stow-strace-${process.pid}.txt`);

  beforeAll(async () => {
    gw = await startGateway();
  }, 120_000);
  afterAll(async () => {
    strace?.kill('SIGINT');
    await gw?.dispose();
    await rm(traceFile, { force: true });
  });

  it('flushes data, directory, then the commit WAL, before the first byte of the answer', async () => {
    const [slice] = [...generateCtSeries({ kind: 'ct-head', slices: 1, rows: 128, columns: 128, seed: 'durability', site: SITES['saint-girons'] })];
    const header = dicomParser.parseDicom(slice, { untilTag: 'x7fe00010' });
    const seriesDir = path.join(gw.dataDir, 'objects', 'studies', header.string('x0020000d')!, header.string('x0020000e')!);
    const token = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
    const postmaster = Number((await readFile(path.join(gw.dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const pids = [...(await withDescendants(gw.child.pid!)), ...(await withDescendants(postmaster))];

    let threads = 0;
    for (const pid of pids) threads += (await readdir(`/proc/${pid}/task`).catch(() => [])).length;
    const args = ['-f', '-ttt', '-T', '-yy', '-s', '0', '-e', 'trace=fsync,fdatasync,write,writev,sendto,sendmsg', '-o', traceFile];
    for (const pid of pids) args.push('-p', String(pid));
    strace = spawn(STRACE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let straceErrors = '';
    strace.stderr?.on('data', (d: Buffer) => (straceErrors += d.toString()));
    // Every thread must be traced before the request (a loaded machine may take a while to attach them all).
    const attached = () => (straceErrors.match(/ attached/g) ?? []).length;
    const deadline = Date.now() + 30_000;
    while (attached() < threads && strace.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(strace.exitCode, straceErrors).toBeNull();
    expect(attached(), straceErrors).toBeGreaterThanOrEqual(threads);

    const { body, contentType } = multipartRequest([slice]);
    let clientPort = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${gw.dicomweb}/studies`, {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': body.length },
      });
      req.on('socket', (socket) => socket.on('connect', () => (clientPort = socket.localPort!)));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    strace.kill('SIGINT');
    await new Promise((resolve) => strace!.once('exit', resolve));
    strace = undefined;

    const calls = parseStrace(await readFile(traceFile, 'utf8')).filter((c) => c.ok);
    const flush = (c: Call) => c.name === 'fsync' || c.name === 'fdatasync';
    const writes = (c: Call) => c.name !== 'fsync' && c.name !== 'fdatasync';
    const answer = calls.filter((c) => writes(c) && c.args.includes(`->127.0.0.1:${clientPort}]`)).sort((a, b) => a.start - b.start)[0];
    expect(answer, 'the answer written on the client connection').toBeDefined();

    const spoolDir = path.join(gw.dataDir, 'spool');
    const dataFlush = calls.find((c) => flush(c) && (c.args.includes(`<${spoolDir}/`) || c.args.includes(`<${seriesDir}/`)));
    const dirFlush = calls.find((c) => flush(c) && c.args.includes(`<${seriesDir}>`));
    expect(dataFlush, "the object's data flushed").toBeDefined();
    expect(dirFlush, "the object's directory flushed").toBeDefined();
    const objectDurable = Math.max(dataFlush!.end, dirFlush!.end);
    expect(objectDurable).toBeLessThan(answer.start);

    const pgPort = gw.env.EMBEDDED_PG_PORT!;
    const indexSent = calls
      .filter((c) => writes(c) && c.args.includes(`->127.0.0.1:${pgPort}]`) && c.start > objectDurable && c.start < answer.start)
      .sort((a, b) => a.start - b.start)[0];
    expect(indexSent, 'the index statement sent to PostgreSQL once the object is durable').toBeDefined();
    const walFlush = calls.find((c) => flush(c) && c.args.includes('/pg_wal/') && c.start > indexSent.start && c.end < answer.start);
    expect(walFlush, "the index commit's WAL flushed before the answer").toBeDefined();
  }, 120_000);
});
