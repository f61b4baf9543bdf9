/**
 * Frames and bulk data of a Deflated Explicit VR Little Endian instance. The object is kept exactly as received
 * (a deflate stream after the File Meta Information); ingest indexed its frames at their positions in the inflated
 * stream (core/dicom/read-instance-file.ts). A span is read by inflating the object from the start of its data set
 * up to the span's end, as a stream: memory stays bounded (zlib's 32 KiB window and a chunk) whatever the size,
 * nothing is kept on disk beside the object, and the time is that of inflating up to the frame. Chosen over a
 * cached inflated copy or a map of restart points: deflated instances are rare and mostly small (structured
 * reports, single images), and a second copy would have to be kept consistent with the object and swept.
 */
import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { ByteWindow } from '../../../core/dicom/byte-window.ts';
import { DatasetParser } from '../../../core/dicom/dataset-parser.ts';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN } from '../../../core/dicom/transfer-syntax.ts';
import type { ByteRange, ObjectStore } from '../../../storage/objects/object-store.ts';

/** What frame and bulk data reads need of a store. */
export type SpanSource = Pick<ObjectStore, 'read' | 'readBytes'>;

const META_START = 132;
/** The File Meta Information is small (a few hundred bytes); this is far more than any holds. */
const META_READ = 64 * 1024;

/** Where frame spans of `instance` are read: the store itself, or its inflated view for a deflated instance. */
export function spanSourceFor(objects: ObjectStore, instance: { transferSyntaxUID: string; size: number }): SpanSource {
  return instance.transferSyntaxUID === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN ? new InflatedSpanReader(objects, instance.size) : objects;
}

class InflatedSpanReader implements SpanSource {
  constructor(
    private readonly objects: ObjectStore,
    private readonly size: number,
  ) {}

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (!range) throw new Error('an inflated view serves byte ranges only');
    return Readable.from(this.inflatedRange(key, range));
  }

  async readBytes(key: string, range: ByteRange): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.inflatedRange(key, range)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** Bytes [start, end] of the instance as if its data set were not deflated. */
  private async *inflatedRange(key: string, range: ByteRange): AsyncGenerator<Buffer> {
    const dataSetStart = await this.dataSetStart(key);
    if (range.start < dataSetStart) {
      throw new Error(`range ${range.start}-${range.end} of ${key} starts inside its File Meta Information`);
    }
    const from = range.start - dataSetStart;
    const to = range.end - dataSetStart + 1;
    const source = await this.objects.read(key, { start: dataSetStart, end: this.size - 1 });
    const inflate = createInflateRaw();
    source.on('error', (error) => inflate.destroy(error));
    source.pipe(inflate);
    let at = 0;
    try {
      for await (const chunk of inflate as AsyncIterable<Buffer>) {
        const lo = Math.max(from - at, 0);
        const hi = Math.min(to - at, chunk.length);
        at += chunk.length;
        if (hi > lo) yield chunk.subarray(lo, hi);
        if (at >= to) return;
      }
      throw new Error(`the inflated data set of ${key} ends before byte ${range.end}`);
    } finally {
      source.destroy();
      inflate.destroy();
    }
  }

  private async dataSetStart(key: string): Promise<number> {
    const head = await this.objects.readBytes(key, { start: 0, end: Math.min(this.size, META_READ) - 1 });
    const win = new ByteWindow(head.length);
    win.add({ offset: 0, bytes: head });
    return new DatasetParser(win).parseFileMeta(META_START).end;
  }
}
