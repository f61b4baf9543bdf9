/**
 * Small positional reads of a file (item headers of encapsulated pixel data, offset tables), served from the
 * bytes already read when possible and otherwise from one cached block, so that a multi-gigabyte file is never
 * read as a whole.
 */
import type { FileHandle } from 'node:fs/promises';
import type { ByteWindow } from './byte-window.ts';

const BLOCK_SIZE = 16 * 1024;

export class PositionalReader {
  private block: { offset: number; bytes: Buffer } | undefined;

  constructor(
    private readonly file: FileHandle,
    private readonly win: ByteWindow,
  ) {}

  get fileSize(): number {
    return this.win.fileSize;
  }

  /** The bytes [offset, offset + length); `what` names them in the truncation message. */
  async bytes(offset: number, length: number, what: () => string): Promise<Buffer> {
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
    const bytes = Buffer.allocUnsafe(size);
    await readFully(this.file, bytes, offset);
    this.block = { offset, bytes };
    return bytes.subarray(0, length);
  }
}

/** Reads exactly bytes.length bytes at `position` (the caller has checked they are in the file). */
export async function readFully(file: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesRead } = await file.read(bytes, done, bytes.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done} (file changed while read?)`);
    done += bytesRead;
  }
}
