import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import http from 'node:http';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCtSeries } from '../../test-data/generate-study.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { multipartRequest, parseMultipart, stow } from '../support/dicomweb-http.ts';

const INSTANCES = 240;

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else yield full;
  }
}

describe('a gateway killed in the middle of 240 concurrent STOW requests', () => {
  let gw: GatewayProcess | undefined;
  afterAll(async () => {
    await gw?.dispose();
  });

  it('keeps every acknowledged instance intact and shows nothing partial after restart', async () => {
    gw = await startGateway();
    const token = await gw.token('--role', 'sender', '--site', '310780010');
    const instances: { bytes: Buffer; sop: string; series: string; study: string }[] = [];
    for await (const bytes of generateCtSeries({ kind: 'ct-chest', slices: INSTANCES, rows: 256, columns: 256, seed: 'crash-test' })) {
      instances.push({ bytes, ...uids(bytes) });
    }

    const agent = new http.Agent({ keepAlive: false, maxSockets: INSTANCES });
    const acknowledged = new Set<string>();
    const sending = instances.map(async (instance) => {
      const { body, contentType } = multipartRequest([instance.bytes]);
      try {
        const status = await post(`${gw!.dicomweb}/studies`, { authorization: `Bearer ${token}`, 'content-type': contentType }, body, agent);
        if (status === 200) acknowledged.add(instance.sop);
      } catch {
        // cut off by the kill: the client never heard back
      }
    });
    // Kill once a third of the requests have been acknowledged: the rest are in flight at every stage.
    while (acknowledged.size < INSTANCES / 3) await new Promise((r) => setTimeout(r, 5));
    await gw.kill();
    await Promise.all(sending);
    agent.destroy();
    expect(acknowledged.size).toBeGreaterThanOrEqual(INSTANCES / 3);
    expect(acknowledged.size).toBeLessThan(INSTANCES);

    await gw.restart();
    const reader = await gw.token('--role', 'sender', '--site', '310780010'); // the site reads back its own studies
    const auth = { authorization: `Bearer ${reader}` };

    // No partial object: every object's name ends with the SHA-256 of its bytes (content-addressed keys).
    for await (const file of walk(path.join(gw.dataDir, 'objects'))) {
      if (file.includes(`${path.sep}.tmp${path.sep}`)) continue;
      const digest = createHash('sha256').update(await readFile(file)).digest('hex');
      expect(path.basename(file, '.dcm').split('.').pop(), file).toBe(digest.slice(0, 32));
    }
    expect(await readdir(path.join(gw.dataDir, 'spool'))).toEqual([]);

    // No orphan index row: everything the index lists can be retrieved, byte-identical to what was sent.
    const bySop = new Map(instances.map((i) => [i.sop, i]));
    const listed = (await (await fetch(`${gw.dicomweb}/instances?limit=10000`, { headers: auth })).json()) as Record<string, { Value: string[] }>[];
    const indexed = listed.map((item) => item['00080018'].Value[0]);
    for (const sop of acknowledged) expect(indexed).toContain(sop);
    const { study, series } = instances[0];
    const res = await fetch(`${gw.dicomweb}/studies/${study}/series/${series}`, { headers: { ...auth, accept: 'multipart/related; type="application/dicom"' } });
    expect(res.status).toBe(200);
    const parts = parseMultipart(Buffer.from(await res.arrayBuffer()), res.headers.get('content-type')!);
    expect(parts).toHaveLength(indexed.length);
    for (const part of parts) {
      const sop = uids(part.body).sop;
      expect(Buffer.compare(part.body, bySop.get(sop)!.bytes)).toBe(0);
    }

    // The interrupted ones can simply be sent again.
    const missing = instances.filter((i) => !indexed.includes(i.sop));
    for (let i = 0; i < missing.length; i += 20) {
      const batch = missing.slice(i, i + 20);
      const result = await stow(gw.dicomweb, token, batch.map((b) => b.bytes));
      expect(result.status).toBe(200);
    }
    const all = (await (await fetch(`${gw.dicomweb}/studies/${study}/series/${series}/instances?limit=10000`, { headers: auth })).json()) as unknown[];
    expect(all).toHaveLength(INSTANCES);
  }, 180_000);
});

function uids(bytes: Buffer) {
  const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  return { study: ds.string('x0020000d')!, series: ds.string('x0020000e')!, sop: ds.string('x00080018')! };
}

/** A plain HTTP POST resolving with the status once the whole answer is read; rejects if the connection dies. */
function post(url: string, headers: Record<string, string>, body: Buffer, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
