import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore } from '../../storage/objects/create-object-store.ts';
import { FilesystemObjectStore } from '../../storage/objects/filesystem-object-store.ts';
import {
  InvalidObjectKeyError,
  ObjectNotFoundError,
  type ByteRange,
  type ObjectStore,
} from '../../storage/objects/object-store.ts';
import { S3ObjectStore } from '../../storage/objects/s3-object-store.ts';
import { freePort } from '../support/free-port.ts';
import { startS3Server, type S3Server } from '../support/s3-server.ts';

interface Subject {
  store: ObjectStore;
  /** Where the test writes the spool files it hands to putFile. */
  spoolDir: string;
  dispose(): Promise<void>;
}

const MB = 1024 * 1024;
const invalidKeys = ['../x', '/abs', 'a//b', 'a/./b', '', 'a/', 'a b'];

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs `work` and calls `probe` back to back until it settles; returns how many probes ran. */
async function probeWhile(work: Promise<unknown>, probe: () => Promise<void>): Promise<number> {
  let settled = false;
  const tracked = work.finally(() => (settled = true));
  let probes = 0;
  try {
    while (!settled) {
      await probe();
      probes++;
    }
  } finally {
    await tracked.catch(() => undefined); // let the work finish even when a probe failed
  }
  await tracked;
  return probes;
}

/** The guarantees of the ObjectStore contract, the same for every implementation. */
function describeObjectStoreContract(name: string, factory: () => Promise<Subject>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let subject: Subject;
    let store: ObjectStore;
    let spoolCount = 0;

    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
      await store.init();
    });
    afterAll(async () => {
      await subject?.store.close();
      await subject?.dispose();
    });

    async function spool(bytes: Buffer): Promise<string> {
      const file = path.join(subject.spoolDir, `spool-${spoolCount++}`);
      await writeFile(file, bytes);
      return file;
    }

    /** What an ingest caller does: spool, putFile, delete the spool file unless the store took it. */
    async function put(key: string, bytes: Buffer): Promise<void> {
      const file = await spool(bytes);
      const result = await store.putFile(key, file, bytes.length);
      // The store says what it did with the file, and says it truly.
      expect(existsSync(file)).toBe(result === 'copied');
      if (result === 'copied') await rm(file);
    }

    it('init is idempotent', async () => {
      await store.init();
    });

    it('round-trips small, empty and multi-megabyte objects byte for byte', async () => {
      const objects: Record<string, Buffer> = {
        'rt/small.bin': Buffer.from('DICM and some pixels'),
        'rt/empty.bin': Buffer.alloc(0),
        'rt/big.bin': randomBytes(9 * MB + 123),
      };
      for (const [key, bytes] of Object.entries(objects)) await put(key, bytes);
      for (const [key, bytes] of Object.entries(objects)) {
        expect(await store.stat(key)).toMatchObject({ key, size: bytes.length, modifiedAt: expect.any(Date) });
        expect((await collect(await store.read(key))).equals(bytes)).toBe(true);
      }
    });

    it('reads byte ranges with read and readBytes', async () => {
      const bytes = randomBytes(3 * MB + 17);
      await put('ranges/obj', bytes);
      const last = bytes.length - 1;
      const ranges: ByteRange[] = [
        { start: 0, end: 0 },
        { start: last, end: last },
        { start: 1000, end: 2 * MB + 5 },
        { start: 0, end: last },
      ];
      for (const range of ranges) {
        const expected = bytes.subarray(range.start, range.end + 1);
        expect((await collect(await store.read('ranges/obj', range))).equals(expected)).toBe(true);
        expect((await store.readBytes('ranges/obj', range)).equals(expected)).toBe(true);
      }
    });

    it('clamps a range ending past the object and refuses one starting past it', async () => {
      const bytes = randomBytes(100);
      await put('ranges/short', bytes);
      const clamped = { start: 90, end: 1000 };
      expect((await store.readBytes('ranges/short', clamped)).equals(bytes.subarray(90))).toBe(true);
      // A range ending terabytes past the end is clamped, not allocated.
      expect((await store.readBytes('ranges/short', { start: 10, end: 2 ** 40 })).equals(bytes.subarray(10))).toBe(true);
      await expect(store.readBytes('ranges/short', { start: 100, end: 2 ** 40 })).rejects.toThrow(RangeError);
      expect((await collect(await store.read('ranges/short', clamped))).equals(bytes.subarray(90))).toBe(true);
      await expect(store.readBytes('ranges/short', { start: 100, end: 200 })).rejects.toThrow(RangeError);
      await expect(store.read('ranges/short', { start: 100, end: 200 })).rejects.toThrow(RangeError);
      await expect(store.readBytes('ranges/short', { start: 5, end: 4 })).rejects.toThrow(RangeError);
    });

    it('reports a missing object: stat null, reads reject with ObjectNotFoundError', async () => {
      expect(await store.stat('missing/obj')).toBeNull();
      await expect(store.read('missing/obj')).rejects.toThrow(ObjectNotFoundError);
      await expect(store.read('missing/obj', { start: 0, end: 0 })).rejects.toThrow(ObjectNotFoundError);
      await expect(store.readBytes('missing/obj', { start: 0, end: 9 })).rejects.toThrow(ObjectNotFoundError);
    });

    it('deletes idempotently', async () => {
      await put('del/obj', Buffer.from('x'));
      await store.delete('del/obj');
      expect(await store.stat('del/obj')).toBeNull();
      await expect(store.read('del/obj')).rejects.toThrow(ObjectNotFoundError);
      await store.delete('del/obj');
      await store.delete('del/never-existed');
    });

    it('lists recursively by prefix, with sizes', async () => {
      const keys = { 'list/a/1': 1, 'list/a/deep/2': 2, 'list/ab': 3, 'list/b/1': 4 };
      for (const [key, size] of Object.entries(keys)) await put(key, Buffer.alloc(size, 7));
      const listed = async (prefix: string) => {
        const out: string[] = [];
        for await (const info of store.list(prefix)) {
          expect(info.size).toBe(keys[info.key as keyof typeof keys]);
          // When it was written: the sweep of objects never indexed keeps those younger than its grace period.
          expect(Math.abs(info.modifiedAt.getTime() - Date.now())).toBeLessThan(120_000);
          out.push(info.key);
        }
        return out.sort();
      };
      expect(await listed('list/a/')).toEqual(['list/a/1', 'list/a/deep/2']);
      expect(await listed('list/a')).toEqual(['list/a/1', 'list/a/deep/2', 'list/ab']);
      expect(await listed('list/')).toEqual(Object.keys(keys).sort());
      expect(await listed('list/zzz')).toEqual([]);
      expect(await listed('nothing-here/')).toEqual([]);
    });

    it.each(invalidKeys)('refuses the invalid key %j everywhere', async (key) => {
      const file = await spool(Buffer.from('x'));
      await expect(store.putFile(key, file, 1)).rejects.toThrow(InvalidObjectKeyError);
      await expect(store.read(key)).rejects.toThrow(InvalidObjectKeyError);
      await expect(store.readBytes(key, { start: 0, end: 0 })).rejects.toThrow(InvalidObjectKeyError);
      await expect(store.stat(key)).rejects.toThrow(InvalidObjectKeyError);
      await expect(store.delete(key)).rejects.toThrow(InvalidObjectKeyError);
    });

    it('refuses an invalid list prefix', async () => {
      const iterate = async () => {
        for await (const _ of store.list('../')) void _;
      };
      await expect(iterate()).rejects.toThrow(InvalidObjectKeyError);
    });

    it('refuses a spool file whose size differs from the announced size, storing nothing', async () => {
      const file = await spool(Buffer.from('12345'));
      await expect(store.putFile('size/wrong', file, 4)).rejects.toThrow(/5 bytes but 4/);
      expect(await store.stat('size/wrong')).toBeNull();
    });

    it('survives concurrent putFile of the same key with identical content', async () => {
      const bytes = randomBytes(2 * MB);
      await Promise.all(Array.from({ length: 6 }, () => put('concurrent/obj', bytes)));
      expect((await collect(await store.read('concurrent/obj'))).equals(bytes)).toBe(true);
      expect(await store.stat('concurrent/obj')).toMatchObject({ key: 'concurrent/obj', size: bytes.length });
    });

    it('never shows a partial object while a put is in progress', async () => {
      const bytes = randomBytes(24 * MB);
      const file = await spool(bytes);
      const seen = new Set<number | null>();
      await probeWhile(store.putFile('atomic/new', file, bytes.length), async () => {
        seen.add((await store.stat('atomic/new'))?.size ?? null);
      });
      for (const size of seen) expect([null, bytes.length]).toContain(size);
      expect((await collect(await store.read('atomic/new'))).equals(bytes)).toBe(true);
    });

    it('replaces an object all at once', async () => {
      const before = Buffer.alloc(5 * MB, 1);
      const after = Buffer.alloc(7 * MB, 2);
      await put('atomic/replaced', before);
      const file = await spool(after);
      await probeWhile(store.putFile('atomic/replaced', file, after.length), async () => {
        const head = await store.readBytes('atomic/replaced', { start: 0, end: 0 });
        const size = (await store.stat('atomic/replaced'))?.size;
        expect([1, 2]).toContain(head[0]);
        expect([before.length, after.length]).toContain(size);
      });
      expect((await collect(await store.read('atomic/replaced'))).equals(after)).toBe(true);
    });
  });
}

async function filesystemSubject(spoolRoot?: string): Promise<Subject & { root: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-objects-'));
  const spoolDir = spoolRoot ? await mkdtemp(path.join(spoolRoot, 'astreinte-spool-')) : path.join(dir, 'spool');
  await mkdir(spoolDir, { recursive: true });
  const root = path.join(dir, 'objects');
  return {
    store: new FilesystemObjectStore(root),
    root,
    spoolDir,
    dispose: async () => {
      await rm(dir, { recursive: true, force: true });
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

/** A directory on another filesystem than os.tmpdir(), to exercise the EXDEV copy path, if there is one. */
const otherFilesystem = ['/dev/shm'].find(
  (d) => existsSync(d) && statSync(d).dev !== statSync(os.tmpdir()).dev,
);

describeObjectStoreContract('filesystem (spool on the same filesystem: rename)', () => filesystemSubject());
describe.runIf(otherFilesystem)('filesystem, spool on another filesystem', () => {
  describeObjectStoreContract('filesystem (spool on another filesystem: copy)', () =>
    filesystemSubject(otherFilesystem),
  );
});

let s3: S3Server | undefined;
let bucketCount = 0;
describeObjectStoreContract('s3 (s3rver process)', async () => {
  s3 ??= await startS3Server();
  const spoolDir = await mkdtemp(path.join(os.tmpdir(), 'astreinte-spool-'));
  const { endpoint, accessKey, secretKey, bucket } = s3;
  return {
    store: new S3ObjectStore({ endpoint, accessKey, secretKey, bucket: `${bucket}-${bucketCount++}`, region: 'us-east-1' }),
    spoolDir,
    dispose: () => rm(spoolDir, { recursive: true, force: true }),
  };
});

describe('FilesystemObjectStore specifics', () => {
  let subject: Subject;
  let root: string;
  beforeAll(async () => {
    ({ root, ...subject } = await filesystemSubject());
    await subject.store.init();
  });
  afterAll(() => subject.dispose());

  it('moves the spool file into place instead of copying it when on the same filesystem', async () => {
    const file = path.join(subject.spoolDir, 'moved');
    await writeFile(file, randomBytes(MB));
    const inode = statSync(file).ino;
    expect(await subject.store.putFile('fs/moved', file, MB)).toBe('moved');
    expect(existsSync(file)).toBe(false);
    expect(statSync(path.join(root, 'fs/moved')).ino).toBe(inode);
  });

  it('replaces an incomplete file a power cut left under a key with the complete object, by a flushed rename', async () => {
    // putFile links the spool file under its key before flushing it: after a power cut an unflushed file may
    // remain there, unreferenced. The next put of that key must never keep it.
    await mkdir(path.join(root, 'fs/power-cut'), { recursive: true });
    await writeFile(path.join(root, 'fs/power-cut/instance.dcm'), Buffer.alloc(100));
    const bytes = randomBytes(MB);
    const file = path.join(subject.spoolDir, 'after-power-cut');
    await writeFile(file, bytes);
    const inode = statSync(file).ino;
    expect(await subject.store.putFile('fs/power-cut/instance.dcm', file, MB)).toBe('moved');
    expect(statSync(path.join(root, 'fs/power-cut/instance.dcm')).ino).toBe(inode);
    expect((await collect(await subject.store.read('fs/power-cut/instance.dcm'))).equals(bytes)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it.runIf(otherFilesystem)('copies from another filesystem leaving no temp file behind', async () => {
    const spoolDir = await mkdtemp(path.join(otherFilesystem!, 'astreinte-spool-'));
    try {
      const file = path.join(spoolDir, 'copied');
      await writeFile(file, Buffer.alloc(MB, 3));
      expect(await subject.store.putFile('fs/copied', file, MB)).toBe('copied');
      expect(existsSync(file)).toBe(true); // the caller deletes its spool file
      expect(await readdir(path.join(root, '.tmp'))).toEqual([]);
      expect(await subject.store.stat('fs/copied')).toMatchObject({ key: 'fs/copied', size: MB });
    } finally {
      await rm(spoolDir, { recursive: true, force: true });
    }
  });

  it('init removes temp files left by a crash, and .tmp is neither listed nor addressable', async () => {
    await writeFile(path.join(root, '.tmp', 'left-by-crash'), 'partial');
    await subject.store.init();
    expect(await readdir(path.join(root, '.tmp'))).toEqual([]);
    await writeFile(path.join(root, '.tmp', 'in-flight'), 'partial');
    const keys: string[] = [];
    for await (const info of subject.store.list('')) keys.push(info.key);
    expect(keys.some((k) => k.startsWith('.tmp'))).toBe(false);
    await expect(subject.store.stat('.tmp/in-flight')).rejects.toThrow(InvalidObjectKeyError);
  });

  it('treats a key naming a directory as missing', async () => {
    await subject.store.putFile('dir/inner', await spoolOf(subject, 'y'), 1);
    expect(await subject.store.stat('dir')).toBeNull();
    await expect(subject.store.read('dir')).rejects.toThrow(ObjectNotFoundError);
    await expect(subject.store.readBytes('dir/inner/below', { start: 0, end: 0 })).rejects.toThrow(
      ObjectNotFoundError,
    );
  });
});

async function spoolOf(subject: Subject, text: string): Promise<string> {
  const file = path.join(subject.spoolDir, `text-${text}`);
  await writeFile(file, text);
  return file;
}

afterAll(async () => {
  await s3?.stop();
});

describe('S3ObjectStore specifics', () => {
  it('init names S3_ENDPOINT and S3_BUCKET when nothing answers there', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = createObjectStore({
      kind: 's3',
      endpoint,
      bucket: 'astreinte-nowhere',
      accessKey: 'k',
      secretKey: 's',
      region: 'us-east-1',
    });
    await expect(store.init()).rejects.toThrow(`S3_ENDPOINT=${endpoint} S3_BUCKET=astreinte-nowhere`);
    await store.close();
  });

  it('init names the credentials when the server refuses them', async () => {
    s3 ??= await startS3Server();
    const store = createObjectStore({ ...s3, kind: 's3', accessKey: 'WRONG', region: 'us-east-1' });
    await expect(store.init()).rejects.toThrow(/S3_ACCESS_KEY\/S3_SECRET_KEY/);
    await store.close();
  });

  it('refuses an endpoint with a path', () => {
    expect(
      () =>
        new S3ObjectStore({
          endpoint: 'http://127.0.0.1:9000/prefix',
          bucket: 'b-b-b',
          accessKey: 'k',
          secretKey: 's',
          region: 'us-east-1',
        }),
    ).toThrow(/bare origin/);
  });
});
