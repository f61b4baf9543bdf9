import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');

// From config/examples/midi-pyrenees.yaml: CH Saint-Girons, the Ariège PDSES line and its weekend rota.
const SAINT_GIRONS = '090000050';
const ON_CALL = '10009000011';
const BACKUP = '10009000029';
const SUNDAY_0210 = '2026-11-22T02:10:00+01:00';

interface Item {
  id: string;
  studyInstanceUID: string;
  status: string;
  pool: string;
  assignee: string | null;
  priority: string;
  deadline: string;
  routedAt: string;
}

/** Reads server-sent events until `until` returns true for one of them, or the time runs out. */
async function firstEvent(url: string, token: string, until: (data: string) => boolean, timeoutMs: number, started: () => void) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: controller.signal });
    started();
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (const block of buffer.split('\n\n').slice(0, -1)) {
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        if (data && until(data)) return { data, at: Date.now() };
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return undefined;
}

describe('a head CT pushed by CH Saint-Girons at 02:10 on a Sunday', () => {
  let gw: GatewayProcess;
  let sender: string;
  let onCall: string;
  let backup: string;
  let otherReader: string;
  let coordinator: string;
  const slices: Buffer[] = [];
  let study = '';

  beforeAll(async () => {
    gw = await startGateway({ env: { ASTREINTE_NOW: SUNDAY_0210, ASTREINTE_STABILITY_SECONDS: '1' } });
    [sender, onCall, backup, otherReader, coordinator] = await Promise.all([
      gw.token('--role', 'sender', '--site', SAINT_GIRONS),
      gw.token('--role', 'reader', '--user', ON_CALL, '--rpps', ON_CALL),
      gw.token('--role', 'reader', '--user', BACKUP, '--rpps', BACKUP),
      gw.token('--role', 'reader', '--user', '10009000102', '--rpps', '10009000102'),
      gw.token('--role', 'coordinator', '--territory', 'ariege', '--user', 'coordination-ariege'),
    ]);
    for (const slice of generateCtSeries({ kind: 'ct-head', slices: 6, rows: 128, columns: 128, seed: 'night', site: SITES['saint-girons'] })) slices.push(slice);
    study = dicomParser.parseDicom(slices[0], { untilTag: 'x7fe00010' }).string('x0020000d')!;
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('reaches the Ariège on-call radiologist, live, about a second after the study is stable', async () => {
    let streamOpen!: () => void;
    const opened = new Promise<void>((resolve) => (streamOpen = resolve));
    const event = firstEvent(`${gw.url}/api/worklist/events`, onCall, (data) => data.includes('item-created'), 20_000, streamOpen);
    await opened;
    const stored = await stow(gw.dicomweb, sender, slices);
    expect(stored.status).toBe(200);
    const storedAt = Date.now();

    const received = await event;
    expect(received, 'the on-call reader is told live').toBeDefined();
    // Stability is 1 s after the last instance: the item must follow within a second of that.
    expect(received!.at - storedAt).toBeLessThan(2_000);

    const list = (await (await fetch(`${gw.url}/api/worklist?scope=mine`, { headers: { authorization: `Bearer ${onCall}` } })).json()) as { items: Item[] };
    const item = list.items.find((i) => i.studyInstanceUID === study)!;
    expect(item).toMatchObject({ status: 'SCHEDULED', pool: 'pdses-ariege', assignee: ON_CALL });
    expect(item.routedAt).toMatch(/^2026-11-22T02:1\d:\d\d(\.\d+)?\+01:00$/);
  });

  it('opens the images to the readers of the pool only', async () => {
    const asOnCall = await fetch(`${gw.dicomweb}/studies/${study}/metadata`, { headers: { authorization: `Bearer ${onCall}` } });
    expect(asOnCall.status).toBe(200);
    expect(((await asOnCall.json()) as unknown[]).length).toBe(slices.length);
    const asOther = await fetch(`${gw.dicomweb}/studies/${study}/metadata`, { headers: { authorization: `Bearer ${otherReader}` } });
    expect(asOther.status).toBe(404);
    const asCoordinator = await fetch(`${gw.dicomweb}/studies/${study}/metadata`, { headers: { authorization: `Bearer ${coordinator}` } });
    expect(asCoordinator.status).toBe(403);
  });

  it('lets one reader claim it and tells the other who holds it', async () => {
    const { items } = (await (await fetch(`${gw.url}/api/worklist?scope=pools`, { headers: { authorization: `Bearer ${backup}` } })).json()) as { items: Item[] };
    const item = items.find((i) => i.studyInstanceUID === study)!;
    const [first, second] = await Promise.all([
      fetch(`${gw.url}/api/worklist/${item.id}/claim`, { method: 'POST', headers: { authorization: `Bearer ${onCall}` } }),
      new Promise((r) => setTimeout(r, 50)).then(() =>
        fetch(`${gw.url}/api/worklist/${item.id}/claim`, { method: 'POST', headers: { authorization: `Bearer ${backup}` } }),
      ),
    ]);
    expect(first.status).toBe(200);
    expect(second.status).toBe(409);
    expect(((await second.json()) as { detail: string }).detail).toMatch(/10009000011/);
  });

  it('explains the decision to the territory coordinator', async () => {
    const res = await fetch(`${gw.url}/api/studies/${study}/routing`, { headers: { authorization: `Bearer ${coordinator}` } });
    expect(res.status).toBe(200);
    const decision = (await res.json()) as { decision: string; pool: string; reader: string; reason: string };
    expect(decision).toMatchObject({ decision: 'routed', pool: 'pdses-ariege', reader: ON_CALL });
    expect(decision.reason.length).toBeGreaterThan(20);
  });

  it('keeps an audit trail of it all whose hash chain verifies', async () => {
    await new Promise((r) => setTimeout(r, 300)); // events are appended once each response is over
    const { stdout } = await run(process.execPath, ['bin/astreinte.cjs', 'audit', 'verify'], { cwd: repoRoot, env: gw.env });
    expect(stdout).toMatch(/intact|verified|ok/i);
    const { stdout: exported } = await run(
      process.execPath,
      ['bin/astreinte.cjs', 'audit', 'export', '--from', '2026-11-21T00:00:00+01:00', '--to', '2026-11-23T00:00:00+01:00'],
      { cwd: repoRoot, env: gw.env },
    );
    const events = exported
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: { code: string }; subtype?: { code: string }[] });
    const codes = new Set(events.map((e) => e.type.code));
    for (const code of ['110104', '110103', '110111']) expect(codes, code).toContain(code);
    const subtypes = new Set(events.flatMap((e) => (e.subtype ?? []).map((s) => s.code)));
    expect(subtypes, 'the routing decision itself is audited').toContain('routing-routed');
  });
});
