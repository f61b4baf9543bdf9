import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, open, opendir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  assertValidObjectKey,
  InvalidObjectKeyError,
  ObjectNotFoundError,
  type ByteRange,
  type ObjectStore,
  type StoredObjectInfo,
} from './object-store.ts';
import { assertValidByteRange, assertValidListPrefix } from './object-store-checks.ts';

/** Where copies are staged when the spool is on another filesystem; emptied by init(). */
const tmpDirName = '.tmp';

/** Errors meaning "no object under that key" (a missing file, or a path crossing/naming a directory). */
const notFoundCodes = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Objects as plain files under `root`, one file per key. Writes are made atomic by renaming a complete,
 * fsynced file into place, and durable by fsyncing the directories whose entries changed.
 */
export class FilesystemObjectStore implements ObjectStore {
  readonly kind = 'filesystem';
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    this.root = path.resolve(root);
    this.tmpDir = path.join(this.root, tmpDirName);
  }

  async init(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await rm(this.tmpDir, { recursive: true, force: true });
      await mkdir(this.tmpDir);
    } catch (err) {
      throw new Error(`cannot prepare the object store directory ${this.root}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async putFile(key: string, localPath: string, size: number): Promise<void> {
    const target = this.pathOf(key);
    await syncFile(localPath, size);
    const createdDirs = await mkdirSynced(path.dirname(target));
    try {
      await rename(localPath, target);
    } catch (err) {
      if (errorCode(err) !== 'EXDEV') throw err;
      await this.copyIntoPlace(localPath, target);
    }
    // The new directory entries (the object's, and any directory we created) must reach the disk too.
    for (const dir of [path.dirname(target), ...createdDirs]) await syncDir(dir);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    if (range) assertValidByteRange(range);
    const handle = await open(file, 'r').catch((err: unknown) => rethrowNotFound(err, key));
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ObjectNotFoundError(key); // a directory opens fine on Linux
      if (range) assertRangeStartsInside(info.size, range, key);
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async readBytes(key: string, range: ByteRange): Promise<Buffer> {
    const file = this.pathOf(key);
    assertValidByteRange(range);
    const handle = await open(file, 'r').catch((err: unknown) => rethrowNotFound(err, key));
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ObjectNotFoundError(key);
      assertRangeStartsInside(info.size, range, key);
      const length = Math.min(range.end, info.size - 1) - range.start + 1;
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, range.start + filled);
        if (bytesRead === 0) break; // truncated meanwhile: cannot happen to a renamed-in-place object
        filled += bytesRead;
      }
      return filled === length ? buffer : buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size } : null;
    } catch (err) {
      if (notFoundCodes.has(errorCode(err) ?? '')) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      if (!notFoundCodes.has(errorCode(err) ?? '')) throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    assertValidListPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash + 1);
    for await (const key of this.walk(startKey)) {
      if (!key.startsWith(prefix)) continue;
      const info = await this.stat(key);
      if (info) yield info; // deleted meanwhile: skip
    }
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    assertValidObjectKey(key);
    if (key === tmpDirName || key.startsWith(`${tmpDirName}/`)) throw new InvalidObjectKeyError(key);
    return path.join(this.root, key);
  }

  /** Keys of the files under the directory `dirKey` ('' or ending with '/'), depth first. */
  private async *walk(dirKey: string): AsyncGenerator<string> {
    let dir;
    try {
      dir = await opendir(path.join(this.root, dirKey));
    } catch (err) {
      if (notFoundCodes.has(errorCode(err) ?? '')) return;
      throw err;
    }
    for await (const entry of dir) {
      if (dirKey === '' && entry.name === tmpDirName) continue;
      const key = dirKey + entry.name;
      if (entry.isDirectory()) yield* this.walk(`${key}/`);
      else if (entry.isFile()) yield key;
    }
  }

  private async copyIntoPlace(localPath: string, target: string): Promise<void> {
    const temp = path.join(this.tmpDir, randomUUID());
    try {
      await copyFile(localPath, temp);
      await syncFile(temp);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}

/** fsyncs a file's data; when `expectedSize` is given, refuses a file of another size. */
async function syncFile(file: string, expectedSize?: number): Promise<void> {
  const handle = await open(file, 'r');
  try {
    if (expectedSize !== undefined) {
      const { size } = await handle.stat();
      if (size !== expectedSize) {
        throw new Error(`spool file ${file} holds ${size} bytes but ${expectedSize} were announced`);
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** mkdir -p; returns the parents of the directories it created (their entries need an fsync). */
async function mkdirSynced(dir: string): Promise<string[]> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return [];
  const parents: string[] = [];
  for (let d = dir; d !== path.dirname(first); d = path.dirname(d)) parents.push(path.dirname(d));
  return parents;
}

function assertRangeStartsInside(size: number, range: ByteRange, key: string): void {
  if (range.start >= size) {
    throw new RangeError(`byte range ${range.start}-${range.end} starts past the end of ${key} (${size} bytes)`);
  }
}

function rethrowNotFound(err: unknown, key: string): never {
  if (notFoundCodes.has(errorCode(err) ?? '')) throw new ObjectNotFoundError(key);
  throw err;
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
