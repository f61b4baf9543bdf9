/**
 * Transient faults (issue 13): with PostgreSQL down, STOW answered 409 with 0x0110 "nothing was stored" although
 * the object had been written. A transient failure now answers 503 with Retry-After (the sender keeps the
 * instance and sends it again), and the object written without its index row is swept after a grace period.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../storage/database/database.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { sweepUnindexedObjects } from '../../storage/index/sweep-unindexed-objects.ts';
import { FilesystemObjectStore } from '../../storage/objects/filesystem-object-store.ts';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { failureReasons, stow } from '../support/dicomweb-http.ts';
import { startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const SAINT_GIRONS = '090000050';
const run = promisify(execFile);

/** One instance in a STOW-RS request; the raw answer, headers included. */
function stowOne(root: string, token: string, instance: Buffer): Promise<Response> {
  return fetch(`${root}/studies`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/related; type="application/dicom"; boundary=B' },
    body: Buffer.concat([Buffer.from('--B\r\nContent-Type: application/dicom\r\n\r\n'), instance, Buffer.from('\r\n--B--\r\n')]),
  });
}

describe('STOW-RS while PostgreSQL is down', () => {
  let gw: GatewayProcess;
  let sender: string;
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: 40, rows: 64, columns: 64, seed: 'transient', site: SITES['saint-girons'] })];
  const [first] = slices;
  /** Acknowledged instances, and the one refused with 503. */
  const stored: Buffer[] = [];
  let refused: Buffer | undefined;
  const sopOf = (file: Buffer) => dicomParser.parseDicom(file, { untilTag: 'x7fe00010' }).string('x00080018')!;
  const objectsDir = () => path.join(gw.dataDir, 'objects');
  const objectKeys = async () => {
    const store = new FilesystemObjectStore(objectsDir());
    const keys: string[] = [];
    for await (const info of store.list('studies/')) keys.push(info.key);
    return keys.sort();
  };

  beforeAll(async () => {
    gw = await startGateway();
    sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
  }, 120_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  it('answers 503 with Retry-After, not 409, and never says stored', async () => {
    expect((await stow(gw.dicomweb, sender, [first])).status).toBe(200);
    stored.push(first);
    const postmaster = Number((await readFile(path.join(gw.dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(postmaster, 'SIGKILL');

    // Until the killed server's backends have exited, some statements still succeed; the supervisor then starts
    // it again within seconds: send new instances until one meets the outage.
    let res: Response | undefined;
    for (const slice of slices.slice(1)) {
      res = await stowOne(gw.dicomweb, sender, slice);
      if (res.status !== 200) {
        refused = slice;
        break;
      }
      stored.push(slice);
      await res.arrayBuffer();
    }
    expect(refused, 'an instance sent while PostgreSQL was down').toBeDefined();
    res = res!;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    const body = (await res.json()) as Parameters<typeof failureReasons>[0];
    expect(failureReasons(body)).toEqual([0x0110]);
    expect(res.headers.get('warning')).toMatch(/unavailable for a moment; this instance is not stored, send it again in 30 s/);
    // The object was written before the index failed: one object more than the instances acknowledged.
    expect(await objectKeys()).toHaveLength(stored.length + 1);
  }, 60_000);

  it('sweeps the object that was never indexed once its grace period is over, and keeps every indexed one', async () => {
    await gw.stop();
    await gw.restart(); // starts the embedded PostgreSQL again
    const password = (await readFile(path.join(gw.dataDir, 'postgres', 'astreinte.password'), 'utf8')).trim();
    const database = await openDatabase({
      kind: 'external',
      url: `postgresql://astreinte:${encodeURIComponent(password)}@127.0.0.1:${gw.env.EMBEDDED_PG_PORT}/astreinte`,
    });
    try {
      const index = new PostgresDicomIndex(database);
      const store = new FilesystemObjectStore(objectsDir());
      const examined = stored.length + 1;
      expect(await sweepUnindexedObjects(store, index)).toEqual({ examined, removed: 0 }); // within the grace period
      expect(await sweepUnindexedObjects(store, index, { graceMs: 0 })).toEqual({ examined, removed: 1 });
      const kept = await objectKeys();
      expect(kept.map((key) => path.basename(key).split('.dcm')[0].replace(/\.[0-9a-f]{32}$/, '')).sort()).toEqual(stored.map(sopOf).sort());
      for (const key of kept) expect(await index.hasObjectKey(key)).toBe(true);
    } finally {
      await database.close();
    }
    // Sent again as Retry-After asked, the instance is stored.
    expect((await stow(gw.dicomweb, sender, [refused!])).status).toBe(200);
    expect(await objectKeys()).toHaveLength(stored.length + 1);
  }, 120_000);
});

describe('STOW-RS while the spool disk is full', () => {
  let gw: GatewayProcess;
  let spool = '';

  beforeAll(async () => {
    gw = await startGateway();
    spool = path.join(gw.dataDir, 'spool');
    // A 256 KiB file system over the spool (root, as the test suite runs): a 512 KiB slice cannot be received.
    await run('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0755', 'tmpfs', spool]);
  }, 120_000);
  afterAll(async () => {
    await run('umount', [spool]).catch(() => undefined);
    await gw?.dispose();
  });

  it('answers 503 with Retry-After and 0xA700 (out of resources) for the instance', async () => {
    const [slice] = [...generateCtSeries({ kind: 'ct-head', slices: 1, rows: 512, columns: 512, seed: 'spool-full', site: SITES['saint-girons'] })];
    const sender = await gw.token('--role', 'sender', '--site', SAINT_GIRONS);
    const res = await stowOne(gw.dicomweb, sender, slice);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(failureReasons((await res.json()) as Parameters<typeof failureReasons>[0])).toEqual([0xa700]);
    expect(res.headers.get('warning')).toMatch(/out of storage space; this instance is not stored, send it again in 30 s/);
  }, 60_000);
});
