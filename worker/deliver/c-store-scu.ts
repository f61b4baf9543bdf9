import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import dcmjsDimse from 'dcmjs-dimse';
import type { responses } from 'dcmjs-dimse';
import { trimEndChars } from '../../core/text/trim-end.ts';

const { Client, Dataset, association, requests: dimseRequests, constants, log: libraryLog } = dcmjsDimse;

export interface CStoreDestination {
  host: string;
  port: number;
  callingAeTitle: string;
  calledAeTitle: string;
  /**
   * DICOM TLS (PS3.15 B.1). The peer's certificate is always verified: against `ca` (PEM) when given, else the
   * system's authorities. `cert` and `key`: our client certificate, for peers that require one.
   */
  tls?: { cert?: Buffer; key?: Buffer; ca?: Buffer };
  timeoutMs?: number;
}

export interface CStoreResult {
  sopInstanceUID: string;
  /** The peer's C-STORE status; null when the instance was not sent (no presentation context the peer accepted). */
  status: number | null;
  comment?: string;
}

export class CStoreScuError extends Error {
  constructor(
    message: string,
    /** `rejected`: the peer refused the association (AE titles, contexts); `network`: no connection or it broke. */
    readonly kind: 'rejected' | 'network' | 'file' = 'file',
  ) {
    super(message);
    this.name = 'CStoreScuError';
  }
}

/** A Part 10 file as C-STORE sends it: the File Meta's UIDs, and where its data set starts. */
interface Part10 {
  file: string;
  sopClassUID: string;
  sopInstanceUID: string;
  transferSyntaxUID: string;
  datasetOffset: number;
}

/**
 * Sends stored instances to a DICOM peer over one association (C-STORE SCU: report delivery, "send this study to
 * AE X"). The data set goes out byte for byte as stored, in its own transfer syntax; only when the peer accepts
 * none but another syntax does dcmjs-dimse re-encode it. Only the headers are read up front; each instance is read
 * into memory while it is sent (one at a time), never the whole study. Resolves with each instance's status; rejects when the association fails.
 */
export async function sendInstances(files: string[], destination: CStoreDestination): Promise<CStoreResult[]> {
  const client = new Client();
  const results: CStoreResult[] = [];
  const sent: string[] = [];
  libraryLog.setLevel('silent');
  const ownContexts = new Set<string>();
  for (const file of files) {
    const part10 = readHeader(file);
    sent.push(part10.sopInstanceUID);
    // A presentation context with the instance's own transfer syntax only, which the library uses first when
    // accepted: the peer cannot pick Implicit VR for an Explicit VR instance (a re-encoding) when it takes this one.
    const key = `${part10.sopClassUID}|${part10.transferSyntaxUID}`;
    if (!ownContexts.has(key)) {
      ownContexts.add(key);
      client.addAdditionalPresentationContext(new association.PresentationContext(0, part10.sopClassUID, part10.transferSyntaxUID), true);
    }
    const request = new dimseRequests.CStoreRequest(new StoredDataset(part10));
    request.on('response', (response: responses.CStoreResponse) => {
      const comment = response.getErrorComment();
      results.push({ sopInstanceUID: part10.sopInstanceUID, status: response.getStatus(), ...(comment ? { comment } : {}) });
    });
    client.addRequest(request);
  }
  await new Promise<void>((resolve, reject) => {
    let failure: Error | undefined;
    client.on('associationRejected', (reject_: { result: number; source: number; reason: number }) => {
      failure = new CStoreScuError(`${destination.calledAeTitle} rejected the association (result ${reject_.result}, source ${reject_.source}, reason ${reject_.reason})`, 'rejected');
    });
    client.on('networkError', (error: Error) => {
      failure ??= new CStoreScuError(`DICOM connection to ${destination.host}:${destination.port} failed: ${error.message}`, 'network');
    });
    client.on('closed', () => (failure ? reject(failure) : resolve()));
    client.send(destination.host, destination.port, destination.callingAeTitle, destination.calledAeTitle, {
      connectTimeout: destination.timeoutMs ?? 30_000,
      associationTimeout: destination.timeoutMs ?? 30_000,
      pduTimeout: destination.timeoutMs ?? 60_000,
      ...(destination.tls ? { securityOptions: { ...destination.tls, rejectUnauthorized: true } } : {}),
    });
  });
  const answered = new Set(results.map((r) => r.sopInstanceUID));
  for (const sopInstanceUID of sent) {
    if (!answered.has(sopInstanceUID)) {
      results.push({ sopInstanceUID, status: null, comment: `not sent: ${destination.calledAeTitle} accepted neither its SOP class nor its transfer syntax` });
    }
  }
  return results;
}

/** Success, or stored with a warning (0xB000, 0xB006, 0xB007). */
export function isStored(status: number | null): boolean {
  return status !== null && (status === constants.Status.Success || (status & 0xf000) === 0xb000);
}

/**
 * dcmjs-dimse sends `getDenaturalizedDataset()`: here the stored bytes. When the peer accepted another transfer
 * syntax only, the library transcodes from `getElements()`, which parses the data set then, and only then.
 */
class StoredDataset extends Dataset {
  private parsed: InstanceType<typeof Dataset> | undefined;
  constructor(private readonly part10: Part10) {
    super({ SOPClassUID: part10.sopClassUID, SOPInstanceUID: part10.sopInstanceUID }, part10.transferSyntaxUID);
  }
  /**
   * Read when the library sends it (synchronously: it asks synchronously), after the previous instance's response:
   * one instance in memory at a time, never the whole study.
   */
  override getDenaturalizedDataset(): Buffer {
    return readFileSync(this.part10.file).subarray(this.part10.datasetOffset);
  }
  override getElements(): Record<string, unknown> {
    this.parsed ??= new Dataset(this.getDenaturalizedDataset(), this.part10.transferSyntaxUID);
    return this.parsed.getElements();
  }
}

/** Reads the File Meta Information (explicit VR little endian, group 0002) of a stored Part 10 file. */
function readHeader(file: string): Part10 {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    return splitPart10(head.subarray(0, readSync(fd, head, 0, head.length, 0)), file);
  } finally {
    closeSync(fd);
  }
}

function splitPart10(bytes: Buffer, file: string): Part10 {
  if (bytes.length < 144 || bytes.toString('latin1', 128, 132) !== 'DICM') throw new CStoreScuError(`${file} is not a DICOM Part 10 file`);
  const values = new Map<number, string>();
  let offset = 132;
  while (offset + 8 <= bytes.length && bytes.readUInt16LE(offset) === 0x0002) {
    const element = bytes.readUInt16LE(offset + 2);
    const vr = bytes.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? bytes.readUInt32LE(offset + 8) : bytes.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    values.set(element, trimEndChars(bytes.toString('latin1', start, start + length), '\0 '));
    offset = start + length;
  }
  const uid = (element: number, name: string) => {
    const value = values.get(element);
    if (!value) throw new CStoreScuError(`${file} has no ${name} in its File Meta Information`);
    return value;
  };
  return {
    file,
    sopClassUID: uid(0x0002, 'Media Storage SOP Class UID'),
    sopInstanceUID: uid(0x0003, 'Media Storage SOP Instance UID'),
    transferSyntaxUID: uid(0x0010, 'Transfer Syntax UID'),
    datasetOffset: offset,
  };
}
