import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, fdatasync, type WriteStream } from 'node:fs';
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
  private readonly finished: Promise<void>;

  constructor(spoolDir: string) {
    this.path = path.join(spoolDir, `${randomUUID()}.part`);
    // autoClose off so that the data can be flushed before the descriptor is closed. Only stream.destroy()
    // ever closes the descriptor (it waits for a write in flight): closing it ourselves could close a number
    // already reused by another file or socket.
    this.stream = createWriteStream(this.path, { highWaterMark: 1 << 20, autoClose: false });
    this.finished = new Promise((resolve, reject) => {
      let failure: Error | undefined;
      this.stream.once('finish', () => {
        const fd = (this.stream as unknown as { fd: number | null }).fd;
        if (typeof fd !== 'number') {
          this.stream.destroy();
          return;
        }
        fdatasync(fd, (syncError) => {
          failure ??= syncError ?? undefined;
          this.stream.destroy();
        });
      });
      this.stream.once('error', (error) => {
        failure ??= error;
      });
      this.stream.once('close', () => (failure ? reject(failure) : resolve()));
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
    if (!this.stream.closed) {
      const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
      this.stream.destroy();
      await closed;
    }
    await rm(this.path, { force: true });
  }
}
