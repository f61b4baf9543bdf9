import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

export interface SpooledPart {
  path: string;
  size: number;
  sha256: string;
}

/**
 * Receives one STOW part on local disk while hashing it, so that the part never sits in memory and the
 * DICOM header can be parsed before anything is stored. The file is ours until ingest hands it to the
 * object store, which makes it durable (the filesystem store flushes it once it is in place); `discard`
 * removes it.
 */
export class SpoolFile {
  readonly path: string;
  private readonly stream: WriteStream;
  private readonly hash = createHash('sha256');
  private size = 0;
  private readonly finished: Promise<void>;

  constructor(spoolDir: string) {
    this.path = path.join(spoolDir, `${randomUUID()}.part`);
    this.stream = createWriteStream(this.path, { highWaterMark: 1 << 20 });
    this.finished = new Promise((resolve, reject) => {
      let failure: Error | undefined;
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
    return { path: this.path, size: this.size, sha256: this.hash.digest('hex') };
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
