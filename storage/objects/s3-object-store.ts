import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import type { Settings } from '../../config/settings.ts';
import {
  assertValidObjectKey,
  ObjectNotFoundError,
  type ByteRange,
  type ObjectStore,
  type PutFileResult,
  type StoredObjectInfo,
} from './object-store.ts';
import { assertValidByteRange, assertValidListPrefix } from './object-store-checks.ts';

export type S3ObjectStoreConfig = Omit<Extract<Settings['objectStore'], { kind: 's3' }>, 'kind'>;

const notFoundCodes = new Set(['NoSuchKey', 'NotFound']);
const badCredentialCodes = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);

/** Objects in one S3 bucket (AWS, MinIO, Ceph RGW, Garage...), addressed path-style. */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  private readonly client: Client;
  private readonly agent: http.Agent;
  private readonly bucket: string;

  constructor(private readonly config: S3ObjectStoreConfig) {
    const url = new URL(config.endpoint);
    if (url.pathname !== '/' || url.search !== '') {
      throw new Error(`S3_ENDPOINT=${config.endpoint} must be a bare origin such as http://127.0.0.1:9000 (no path)`);
    }
    const useSSL = url.protocol === 'https:';
    this.agent = new (useSSL ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 64 });
    this.bucket = config.bucket;
    this.client = new Client({
      endPoint: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : undefined,
      useSSL,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: config.region,
      pathStyle: true,
      transportAgent: this.agent,
    });
  }

  async init(): Promise<void> {
    const where = `S3_ENDPOINT=${this.config.endpoint} S3_BUCKET=${this.bucket}`;
    try {
      if (await this.client.bucketExists(this.bucket)) return;
      await this.client.makeBucket(this.bucket, this.config.region);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'BucketAlreadyOwnedByYou') return; // created concurrently
      if (code && badCredentialCodes.has(code)) {
        throw new Error(`S3 refused S3_ACCESS_KEY/S3_SECRET_KEY for ${where} (${code}); check the credentials`, {
          cause: err,
        });
      }
      throw new Error(`S3 object store ${where} is not usable: ${errorMessage(err)}; check that the server runs there`, {
        cause: err,
      });
    }
  }

  async putFile(key: string, localPath: string, size: number): Promise<PutFileResult> {
    assertValidObjectKey(key);
    const actual = (await stat(localPath)).size;
    if (actual !== size) throw new Error(`spool file ${localPath} holds ${actual} bytes but ${size} were announced`);
    await this.client.putObject(this.bucket, key, createReadStream(localPath), size, {
      'Content-Type': 'application/octet-stream',
    });
    return 'copied';
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    assertValidObjectKey(key);
    if (!range) return this.client.getObject(this.bucket, key).catch((err: unknown) => rethrow(err, key));
    assertValidByteRange(range);
    const length = range.end - range.start + 1;
    return this.client
      .getPartialObject(this.bucket, key, range.start, length)
      .catch((err: unknown) => rethrow(err, key, range));
  }

  async readBytes(key: string, range: ByteRange): Promise<Buffer> {
    const stream = await this.read(key, range);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    assertValidObjectKey(key);
    try {
      const s = await this.client.statObject(this.bucket, key);
      return { key, size: s.size, modifiedAt: s.lastModified };
    } catch (err) {
      if (notFoundCodes.has(errorCode(err) ?? '')) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidObjectKey(key);
    await this.client.removeObject(this.bucket, key); // S3 DELETE of a missing key succeeds
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    assertValidListPrefix(prefix);
    let token = '';
    do {
      const page = await this.client.listObjectsV2Query(this.bucket, prefix, token, '', 1000, '');
      for (const item of page.objects) {
        if (item.name !== undefined) yield { key: item.name, size: item.size, modifiedAt: item.lastModified };
      }
      token = page.isTruncated ? page.nextContinuationToken : '';
    } while (token !== '');
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

function rethrow(err: unknown, key: string, range?: ByteRange): never {
  const code = errorCode(err);
  if (code && notFoundCodes.has(code)) throw new ObjectNotFoundError(key);
  if (code === 'InvalidRange' && range) {
    throw new RangeError(`byte range ${range.start}-${range.end} starts past the end of ${key}`, { cause: err });
  }
  throw err;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message || errorCode(err) || err.name : String(err);
}
