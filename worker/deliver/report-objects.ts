/** Reads a report's stored objects back for delivery, checking each against the hash recorded at signing. */
import { createHash } from 'node:crypto';
import dcmjs from 'dcmjs';
import type { ObjectStore } from '../../storage/objects/object-store.ts';
import type { StoredArtifact } from '../../storage/report/report-store.ts';

export class AlteredObjectError extends Error {}

export async function readArtifact(objects: ObjectStore, artifact: StoredArtifact): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await objects.read(artifact.objectKey)) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== artifact.sha256) {
    throw new AlteredObjectError(`the stored object ${artifact.sopInstanceUID} differs from the one signed (sha256 ${sha256}, signed ${artifact.sha256}); it is not sent`);
  }
  return bytes;
}

/** The PDF document inside an Encapsulated PDF instance (its padding removed). */
export function encapsulatedDocument(part10: Buffer): Buffer {
  const file = dcmjs.data.DicomMessage.readFile(part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.byteLength) as ArrayBuffer);
  const value = file.dict['00420011']?.Value?.[0];
  const length = Number(file.dict['00420015']?.Value?.[0]);
  if (!(value instanceof ArrayBuffer) || !Number.isInteger(length)) throw new Error('the object holds no encapsulated document');
  return Buffer.from(value).subarray(0, length);
}
