import type { Readable } from 'node:stream';

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredObjectInfo {
  key: string;
  size: number;
  /** When the object was last written (file mtime, S3 LastModified). */
  modifiedAt: Date;
}

/**
 * The object-store contract: where the pixels live. Keys are '/'-separated relative paths made of
 * `[A-Za-z0-9._-]` segments; implementations refuse anything else (no `..`, no absolute paths).
 *
 * Guarantees every implementation gives (checked by one contract test suite run against each):
 * - `putFile` is atomic and durable: when it resolves the whole object is stored and survives a crash;
 *   before that, readers never see a partial object under `key`.
 * - Reads of a missing key reject with `ObjectNotFoundError`.
 */
/** What became of the local file given to putFile. */
export type PutFileResult = 'moved' | 'copied';

export interface ObjectStore {
  readonly kind: 'filesystem' | 's3';
  /** Creates the bucket/directory if needed; checks that the store answers. */
  init(): Promise<void>;
  /**
   * Stores the local file at `localPath` under `key`. The file is a spool file of ours, complete but not
   * necessarily flushed to disk: the store makes the object durable. It may take the file over (filesystem:
   * resolves 'moved', the spool name is gone) or copy it and leave it ('copied': the caller deletes it).
   */
  putFile(key: string, localPath: string, size: number): Promise<PutFileResult>;
  /** Streams the object, or the inclusive byte range of it. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Reads a small byte range fully into memory (frame lookups, headers). */
  readBytes(key: string, range: ByteRange): Promise<Buffer>;
  stat(key: string): Promise<StoredObjectInfo | null>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<StoredObjectInfo>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidObjectKeyError extends Error {
  constructor(readonly key: string) {
    super(`invalid object key: ${JSON.stringify(key)}`);
    this.name = 'InvalidObjectKeyError';
  }
}

const segment = /^[A-Za-z0-9._-]+$/;

/** Throws InvalidObjectKeyError unless every segment is safe and none is `.` or `..`. */
export function assertValidObjectKey(key: string): void {
  const parts = key.split('/');
  if (key.length === 0 || key.length > 1024) throw new InvalidObjectKeyError(key);
  for (const p of parts) {
    if (!segment.test(p) || p === '.' || p === '..') throw new InvalidObjectKeyError(key);
  }
}
