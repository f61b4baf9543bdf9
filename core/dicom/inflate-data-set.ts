/**
 * Deflated Explicit VR Little Endian (PS3.5 A.5): everything after the File Meta Information is one raw deflate
 * stream (RFC 1951, no zlib header). Inflated as a stream, with zlib's bounded memory (a 32 KiB window and a chunk).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, truncate } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { DicomInstanceError, FailureReason } from './dicom-status.ts';

/** Writes `target`: the first `dataSetStart` bytes of `source` as they are, then the rest of it inflated. */
export async function writeInflatedTwin(source: string, dataSetStart: number, target: string, maxInflatedBytes: number): Promise<void> {
  await copyFile(source, target);
  await truncate(target, dataSetStart);
  await pipeline(
    createReadStream(source, { start: dataSetStart }),
    createInflateRaw(),
    inflatedLimit(maxInflatedBytes),
    createWriteStream(target, { flags: 'a' }),
  );
}

function inflatedLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > max) {
        callback(
          new DicomInstanceError(
            FailureReason.OutOfResources,
            `the deflated data set inflates to more than ${Math.round(max / (1024 * 1024))} MiB; the archive does not accept it`,
          ),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}
