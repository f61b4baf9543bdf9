import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCtSeries } from '../../test-data/generate-study.ts';
import { runDcmtk } from '../support/dcmtk.ts';
import { parseMultipart } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const SITE = '090781774';
const ASSOCIATIONS = 4;
const SLICES = 60;

/** SOP Instance UIDs storescu -d saw answered with success (0x0000), from its dump of each C-STORE response. */
function acknowledged(output: string): string[] {
  const uids: string[] = [];
  for (const block of output.split('C-STORE RSP').slice(1)) {
    const sop = /Affected SOP Instance UID\s*:\s*(\S+)/.exec(block)?.[1];
    const status = /DIMSE Status\s*:\s*0x([0-9a-f]+)/i.exec(block)?.[1];
    if (sop && status !== undefined && parseInt(status, 16) === 0) uids.push(sop);
  }
  return uids;
}

describe('a gateway killed during 4 parallel DICOM associations', () => {
  let gw: GatewayProcess | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await gw?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps every instance it answered with success, byte-identical, and nothing partial after restart', async () => {
    gw = await startGateway();
    dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-dimse-crash-'));
    const bySop = new Map<string, { bytes: Buffer; study: string; series: string }>();
    const folders: string[] = [];
    for (let a = 0; a < ASSOCIATIONS; a++) {
      const folder = path.join(dir, `series-${a}`);
      await mkdir(folder);
      folders.push(folder);
      let i = 0;
      for (const bytes of generateCtSeries({ kind: 'ct-chest', slices: SLICES, rows: 256, columns: 256, seed: `dimse-crash-${a}` })) {
        const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
        bySop.set(ds.string('x00080018')!, { bytes, study: ds.string('x0020000d')!, series: ds.string('x0020000e')! });
        await writeFile(path.join(folder, `${String(i++).padStart(4, '0')}.dcm`), bytes);
      }
    }
    const port = gw.env.DIMSE_PORT!;
    const sender = { authorization: `Bearer ${await gw.token('--role', 'sender', '--site', SITE)}` };
    let answered = 0;
    const sending = folders.map(async (folder) => {
      const run = await runDcmtk('storescu', ['-d', '+sd', '-R', '-xe', '-aet', 'CHIVA_CT', '-aec', 'ASTREINTE', '127.0.0.1', port, folder], 180_000);
      return acknowledged(run.output);
    });
    // Kill once a quarter of the instances are indexed: the rest are in flight at every stage.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${gw.dicomweb}/instances?limit=1000`, { headers: sender });
      answered = res.status === 200 ? ((await res.json()) as unknown[]).length : 0;
      if (answered >= (ASSOCIATIONS * SLICES) / 4) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await gw.kill();
    const acked = new Set((await Promise.all(sending)).flat());
    expect(acked.size).toBeGreaterThan(0);
    expect(acked.size).toBeLessThan(ASSOCIATIONS * SLICES);

    await gw.restart();
    const auth = { authorization: `Bearer ${await gw.token('--role', 'sender', '--site', SITE)}` };
    expect(await readdir(path.join(gw.dataDir, 'spool'))).toEqual([]);
    const listed = (await (await fetch(`${gw.dicomweb}/instances?limit=10000`, { headers: auth })).json()) as Record<string, { Value: string[] }>[];
    const indexed = new Set(listed.map((item) => item['00080018'].Value[0]));
    for (const sop of acked) expect(indexed.has(sop), sop).toBe(true);
    // Every indexed instance (acknowledged or not yet answered when the process died) is whole.
    for (const sop of indexed) {
      const sent = bySop.get(sop)!;
      const res = await fetch(`${gw.dicomweb}/studies/${sent.study}/series/${sent.series}/instances/${sop}`, {
        headers: { ...auth, accept: 'multipart/related; type="application/dicom"' },
      });
      expect(res.status).toBe(200);
      const [part] = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
      const stored = part.body.subarray(144 + part.body.readUInt32LE(140));
      const original = sent.bytes.subarray(144 + sent.bytes.readUInt32LE(140));
      expect(Buffer.compare(stored, original), sop).toBe(0);
    }
  }, 240_000);
});
