/**
 * The sweep of unindexed objects against ingests under way (issue 13): an object written but not yet indexed is
 * never deleted, however long its index step takes, and a re-send of a key the sweep is deleting is written after
 * the deletion. Each race is provoked deterministically by holding one step of the real code at a gate.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestInstance, objectKeyFor } from '../../gateway/ingest/ingest-instance.ts';
import { readInstanceFile } from '../../core/dicom/read-instance-file.ts';
import { openDatabase, type Database } from '../../storage/database/database.ts';
import type { DicomIndex } from '../../storage/index/dicom-index.ts';
import { PostgresDicomIndex } from '../../storage/index/postgres-dicom-index.ts';
import { sweepUnindexedObjects } from '../../storage/index/sweep-unindexed-objects.ts';
import { FilesystemObjectStore } from '../../storage/objects/filesystem-object-store.ts';
import { ObjectLeases } from '../../storage/objects/object-leases.ts';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import { generateCtSeries, SITES } from '../../test-data/generate-study.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres.ts';

const SAINT_GIRONS = '090000050';

/** A step held until `open()`; `reached` resolves when the code arrives at it. */
function gate() {
  let arrive!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { reached, open, pass: async () => (arrive(), opened) };
}

describe('sweep of unindexed objects against ingests under way', () => {
  let pg: TestPostgres;
  let database: Database;
  let index: PostgresDicomIndex;
  let root: string;
  let store: FilesystemObjectStore;
  const log = pino({ level: 'silent' });
  const slices = [...generateCtSeries({ kind: 'ct-head', slices: 2, rows: 32, columns: 32, seed: 'sweep-race', site: SITES['saint-girons'] })];

  beforeAll(async () => {
    pg = await startTestPostgres();
    database = await openDatabase({ kind: 'external', url: pg.url });
    index = new PostgresDicomIndex(database);
    await index.migrate();
    root = await mkdtemp(path.join(os.tmpdir(), 'astreinte-sweep-race-'));
    store = new FilesystemObjectStore(path.join(root, 'objects'));
    await store.init();
  }, 120_000);
  afterAll(async () => {
    await database?.close();
    await pg?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Spools `bytes` as STOW would: a file of ours, its size and SHA-256. */
  async function spool(bytes: Buffer, name: string) {
    const file = path.join(root, name);
    await writeFile(file, bytes);
    return { path: file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  async function keyOf(bytes: Buffer) {
    const spooled = await spool(bytes, 'probe.dcm');
    return objectKeyFor(await readInstanceFile(spooled.path), spooled.sha256);
  }

  it('never deletes an object whose index step is still under way, however long it takes', async () => {
    const leases = new ObjectLeases();
    const indexing = gate();
    const slowIndex: DicomIndex = Object.assign(Object.create(index) as DicomIndex, {
      indexInstance: async (instance: Parameters<DicomIndex['indexInstance']>[0]) => {
        await indexing.pass(); // the object is written; its index row is not
        return index.indexInstance(instance);
      },
    });
    const key = await keyOf(slices[0]);
    const ingest = ingestInstance(1, await spool(slices[0], 'a.dcm'), { site: SAINT_GIRONS }, { objects: store, index: slowIndex, log, leases });
    await indexing.reached;
    expect(await store.stat(key)).not.toBeNull();
    // Grace period 0: as if the index step had taken longer than any grace period.
    expect(await sweepUnindexedObjects(store, index, { graceMs: 0, leases })).toEqual({ examined: 1, removed: 0 });
    expect(await store.stat(key)).not.toBeNull();
    indexing.open();
    expect((await ingest).kind).toBe('stored');
    expect(await index.hasObjectKey(key)).toBe(true);
    expect(await sweepUnindexedObjects(store, index, { graceMs: 0, leases })).toEqual({ examined: 1, removed: 0 });
    expect(await store.stat(key)).not.toBeNull();
  }, 60_000);

  it('writes a re-send of a key being deleted after the deletion, so the re-sent instance keeps its object', async () => {
    const leases = new ObjectLeases();
    const key = await keyOf(slices[1]);
    // An object left unindexed by an earlier failed ingest.
    await store.putFile(key, (await spool(slices[1], 'left.dcm')).path, slices[1].length);
    const deleting = gate();
    const pausedStore: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
      delete: async (k: string) => {
        await deleting.pass(); // the sweep has decided: the object is old and unindexed
        return store.delete(k);
      },
    });
    const sweep = sweepUnindexedObjects(pausedStore, index, { graceMs: 0, leases });
    await deleting.reached;
    let indexed = false;
    const trackingIndex: DicomIndex = Object.assign(Object.create(index) as DicomIndex, {
      indexInstance: async (instance: Parameters<DicomIndex['indexInstance']>[0]) => {
        indexed = true;
        return index.indexInstance(instance);
      },
    });
    const resend = ingestInstance(1, await spool(slices[1], 'b.dcm'), { site: SAINT_GIRONS }, { objects: store, index: trackingIndex, log, leases });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(indexed, 'the re-send waits for the deletion under way').toBe(false);
    deleting.open();
    const swept = await sweep;
    expect(swept.removed).toBe(1);
    expect((await resend).kind).toBe('stored');
    expect(await index.hasObjectKey(key)).toBe(true);
    expect(await store.stat(key), 'the indexed instance has its object').not.toBeNull();
  }, 60_000);
});
