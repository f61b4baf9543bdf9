import { createHash, randomUUID } from 'node:crypto';
import { close, createWriteStream, fdatasync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

export interface SpooledPart {
  path: string;
  size: number;
  sha256: string;
  /** The file's data is already flushed to disk (fdatasync). */
  durable: boolean;
}

/**
 * Receives one STOW part on local disk while hashing it, so that the part never sits in memory and the
 * DICOM header can be parsed before anything is stored. The file is ours until ingest hands it to the
 * object store; `discard` removes it. `complete` flushes the data on the descriptor it was written with (no
 * reopen), so the filesystem store only has to rename the file into place.
 */
export class SpoolFile {
  readonly path: string;
  private readonly stream: WriteStream;
  private readonly hash = createHash('sha256');
  private size = 0;
  /** The descriptor is ours to close exactly once (autoClose is off so that we can flush it first). */
  private descriptorReleased = false;
  private readonly finished: Promise<void>;

  constructor(spoolDir: string) {
    this.path = path.join(spoolDir, `${randomUUID()}.part`);
    this.stream = createWriteStream(this.path, { highWaterMark: 1 << 20, autoClose: false });
    this.finished = new Promise((resolve, reject) => {
      this.stream.once('finish', () => {
        const fd = this.takeDescriptor();
        if (fd === undefined) {
          reject(new Error('spool file discarded'));
          return;
        }
        fdatasync(fd, (syncError) => close(fd, (closeError) => (syncError ?? closeError ? reject(syncError ?? closeError) : resolve())));
      });
      this.stream.once('error', reject);
    });
    this.finished.catch(() => undefined); // observed by complete()
  }

  write(chunk: Uint8Array): boolean {
    this.size += chunk.length;
    this.hash.update(chunk);
    return this.stream.write(chunk);
  }

  drained(): Promise<void> {
    if (!this.stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  async complete(): Promise<SpooledPart> {
    this.stream.end();
    await this.finished;
    return { path: this.path, size: this.size, sha256: this.hash.digest('hex'), durable: true };
  }

  async discard(): Promise<void> {
    this.stream.destroy();
    const fd = this.takeDescriptor();
    if (fd !== undefined) close(fd, () => undefined);
    else if (!this.descriptorReleased) {
      // Not opened yet: close the descriptor as soon as it exists.
      this.stream.once('open', () => {
        const late = this.takeDescriptor();
        if (late !== undefined) close(late, () => undefined);
      });
    }
    await rm(this.path, { force: true });
  }

  private takeDescriptor(): number | undefined {
    const fd = (this.stream as unknown as { fd: number | null }).fd;
    if (this.descriptorReleased || typeof fd !== 'number') return undefined;
    this.descriptorReleased = true;
    return fd;
  }
}
