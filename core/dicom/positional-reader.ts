/**
 * Small positional reads of a file (item headers of encapsulated pixel data, offset tables), served from the
 * bytes already read when possible and otherwise from one cached block, so that a multi-gigabyte file is never
 * read as a whole.
 *
 * Reads are synchronous on purpose: the file is a spool file just written (in the page cache), each read takes
 * microseconds, while an asynchronous read costs a thread-pool round trip (tens to hundreds of microseconds under
 * load, shared with every other file and DNS operation of the process) and a 300-frame file needs 300 of them.
 */
import { readSync } from 'node:fs';
import { type ByteWindow, type Subject } from './byte-window.ts';

const BLOCK_SIZE = 8 * 1024;

export class PositionalReader {
  private block: { offset: number; bytes: Buffer } | undefined;
  /** Reused for block reads: a returned buffer is only valid until the next call. */
  private readonly blockBuffer = Buffer.allocUnsafe(BLOCK_SIZE);

  constructor(
    private readonly fd: number,
    private readonly win: ByteWindow,
  ) {}

  get fileSize(): number {
    return this.win.fileSize;
  }

  /**
   * The bytes [offset, offset + length); `what` names them in the truncation message. The buffer may be reused
   * by the next call: read what you need from it before asking for more.
   */
  bytes(offset: number, length: number, what: Subject): Buffer {
    this.win.ensureInFile(offset, length, what);
    for (const s of this.win.segmentList) {
      if (offset >= s.offset && offset + length <= s.offset + s.bytes.length) {
        return s.bytes.subarray(offset - s.offset, offset - s.offset + length);
      }
    }
    const b = this.block;
    if (b && offset >= b.offset && offset + length <= b.offset + b.bytes.length) {
      return b.bytes.subarray(offset - b.offset, offset - b.offset + length);
    }
    const size = Math.min(Math.max(length, BLOCK_SIZE), this.fileSize - offset);
    const bytes = size <= BLOCK_SIZE ? this.blockBuffer.subarray(0, size) : Buffer.allocUnsafe(size);
    readFully(this.fd, bytes, offset);
    this.block = { offset, bytes };
    return bytes.subarray(0, length);
  }
}

/** Reads exactly bytes.length bytes at `position` (the caller has checked they are in the file). */
export function readFully(fd: number, bytes: Buffer, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    const read = readSync(fd, bytes, done, bytes.length - done, position + done);
    if (read === 0) throw new Error(`unexpected end of file at byte ${position + done} (file changed while read?)`);
    done += read;
  }
}
