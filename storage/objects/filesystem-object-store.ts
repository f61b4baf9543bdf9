import { randomUUID } from 'node:crypto';
import { copyFile, link, mkdir, open, opendir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { close as closeCallback, fstat as fstatCallback, open as openCallback, read as readCallback } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import {
  assertValidObjectKey,
  InvalidObjectKeyError,
  ObjectNotFoundError,
  type ByteRange,
  type ObjectStore,
  type PutFileResult,
  type StoredObjectInfo,
} from './object-store.ts';
import { DirectorySyncer } from './directory-syncer.ts';
import { assertValidByteRange, assertValidListPrefix } from './object-store-checks.ts';

/** Large sequential reads: a 512x512 CT slice in one read, a series at disk speed. */
const READ_CHUNK = 1 << 20;

// The callback API without FileHandle objects: cheaper per call than fs/promises on hot read paths.
const fsOpen = promisify(openCallback);
const fsRead = (fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => readCallback(fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))));
const fsClose = promisify(closeCallback);
const fsFstat = promisify(fstatCallback);
const UNCHECKED_READ_BYTES = 64 << 20;

/** Where copies are staged when the spool is on another filesystem; emptied by init(). */
const tmpDirName = '.tmp';

/** Errors meaning "no object under that key" (a missing file, or a path crossing/naming a directory). */
const notFoundCodes = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Objects as plain files under `root`, one file per key. A complete file is linked (or, over an existing
 * object, renamed) into place, so a key never shows a partial object; it is durable once its data and the
 * directories whose entries changed are fsynced.
 */
export class FilesystemObjectStore implements ObjectStore {
  readonly kind = 'filesystem';
  private readonly tmpDir: string;
  /** Directories known to exist durably (created and synced, or found): objects are never pruned, so they stay. */
  private readonly knownDirs = new Set<string>();
  private readonly creatingDirs = new Map<string, Promise<void>>();
  private readonly dirSyncer = new DirectorySyncer();

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

  /**
   * The spool file becomes the object without a copy. It is linked under its key before its data is flushed, so
   * that the data and the new directory entry reach the disk in one round of flushes instead of two in a row
   * (data, then rename, then directory). Readers never see a partial object: the file is complete when linked.
   * A power loss before the flush can leave an incomplete file under the key, but nothing references it yet
   * (the index row is written after putFile resolves), and a later put of that key replaces it the safe way:
   * link never replaces an existing file, and a key already taken gets the flushed file renamed over it.
   */
  async putFile(key: string, localPath: string, size: number): Promise<PutFileResult> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    const handle = await open(localPath, 'r');
    try {
      await checkSize(handle, localPath, size);
      await this.ensureDir(dir);
      const linked = await linkNew(localPath, target);
      if (linked === 'other-filesystem') return await this.copyIntoPlaceDurably(localPath, target, dir);
      if (linked === 'exists') {
        // link answers EEXIST before EXDEV: the rename over the taken key may still cross filesystems.
        await handle.sync();
        try {
          await rename(localPath, target);
        } catch (err) {
          if (errorCode(err) !== 'EXDEV') throw err;
          return await this.copyIntoPlaceDurably(localPath, target, dir);
        }
        await this.dirSyncer.sync(dir);
        return 'moved';
      }
      // The handle was opened on the spool's own name: it flushes this file, whatever replaces the key meanwhile.
      await Promise.all([handle.sync(), this.dirSyncer.sync(dir)]);
    } finally {
      await handle.close();
    }
    // The spool's name: left by a crash, it is removed with the spool directory at the next start.
    await unlink(localPath).catch(() => undefined);
    return 'moved';
  }

  /** mkdir -p, with the entries of every directory created made durable, once per directory per process. */
  private ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return Promise.resolve();
    let creating = this.creatingDirs.get(dir);
    if (!creating) {
      creating = (async () => {
        const createdIn = await mkdirSynced(dir);
        await Promise.all(createdIn.map((parent) => this.dirSyncer.sync(parent)));
        this.knownDirs.add(dir);
      })().finally(() => this.creatingDirs.delete(dir));
      this.creatingDirs.set(dir, creating);
    }
    return creating;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    if (range) assertValidByteRange(range);
    const handle = await open(file, 'r').catch((err: unknown) => rethrowNotFound(err, key));
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ObjectNotFoundError(key); // a directory opens fine on Linux
      if (range) assertRangeStartsInside(info.size, range, key);
      return handle.createReadStream(range ? { start: range.start, end: range.end, highWaterMark: READ_CHUNK } : { highWaterMark: READ_CHUNK });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Open, read, close: three thread-pool hops and no fstat (this is the hot path of series retrieves, one call
   * per instance). A directory fails its read with EISDIR, a start past the end reads nothing. Only a range
   * larger than UNCHECKED_READ_BYTES is first clamped to the file's size, so that a range ending far past the
   * end never allocates its whole length.
   */
  async readBytes(key: string, range: ByteRange): Promise<Buffer> {
    const file = this.pathOf(key);
    assertValidByteRange(range);
    const fd = await fsOpen(file, 'r').catch((err: unknown) => rethrowNotFound(err, key));
    try {
      let length = range.end - range.start + 1;
      if (length > UNCHECKED_READ_BYTES) {
        const { size } = await fsFstat(fd);
        assertRangeStartsInside(size, range, key);
        length = Math.min(range.end + 1, size) - range.start;
      }
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const bytesRead = await fsRead(fd, buffer, filled, length - filled, range.start + filled).catch((err: unknown) => rethrowNotFound(err, key));
        if (bytesRead === 0) break; // end of file
        filled += bytesRead;
      }
      if (filled === 0 && length > 0) throw new RangeError(`byte range ${range.start}-${range.end} starts past the end of ${key}`);
      return filled === length ? buffer : buffer.subarray(0, filled);
    } finally {
      await fsClose(fd);
    }
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? { key, size: s.size, modifiedAt: s.mtime } : null;
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

  async close(): Promise<void> {
    await this.dirSyncer.close();
  }

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

  /** Copies the spool file into place (it stays, for the caller to delete) and makes the new entry durable. */
  private async copyIntoPlaceDurably(localPath: string, target: string, dir: string): Promise<PutFileResult> {
    await this.copyIntoPlace(localPath, target);
    await this.dirSyncer.sync(dir);
    return 'copied';
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

/** fsyncs a file's data. */
async function syncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function checkSize(handle: FileHandle, file: string, expectedSize: number): Promise<void> {
  const { size } = await handle.stat();
  if (size !== expectedSize) throw new Error(`spool file ${file} holds ${size} bytes but ${expectedSize} were announced`);
}

/** Hard-links `file` as `target` unless `target` exists (never replaces it) or is on another filesystem. */
async function linkNew(file: string, target: string): Promise<'linked' | 'exists' | 'other-filesystem'> {
  try {
    await link(file, target);
    return 'linked';
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return 'exists';
    if (errorCode(err) === 'EXDEV') return 'other-filesystem';
    throw err;
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
