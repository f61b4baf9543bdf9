/**
 * Each reader's signing key (ECDSA P-256), held by the server: created at the reader's first signature,
 * its private half stored in PostgreSQL encrypted with AES-256-GCM under a secret kept in
 * `<dataDir>/keys/report-key-secret` (32 random bytes, mode 0600, made on first use). The database alone
 * (a dump, a replica) cannot sign; the private key is never served.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { jwkThumbprint } from '../../core/report/signed-report.ts';
import type { ReportStore } from '../../storage/report/report-store.ts';
import type { Clock } from '../../core/time/clock.ts';

export const REPORT_KEY_SECRET_FILE = 'report-key-secret';

export interface ReaderSigningKey {
  kid: string;
  privateKey: KeyObject;
}

export class ReaderKeyring {
  private secret?: Promise<Buffer>;

  constructor(
    private readonly store: ReportStore,
    private readonly keyDir: string,
    private readonly clock: Clock,
  ) {}

  /** The reader's active key, created on first use. */
  async signingKey(rpps: string): Promise<ReaderSigningKey> {
    const secret = await this.loadSecret();
    let record = await this.store.activeKey(rpps);
    if (!record) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicJwk = publicKey.export({ format: 'jwk' });
      const kid = jwkThumbprint(publicJwk);
      record = await this.store.addKey({
        kid,
        rpps,
        publicJwk,
        encryptedPrivateKey: encrypt(secret, privateKey.export({ format: 'der', type: 'pkcs8' }), kid),
        createdAt: this.clock.now(),
      });
    }
    return { kid: record.kid, privateKey: createPrivateKey({ key: decrypt(secret, record.encryptedPrivateKey, record.kid), format: 'der', type: 'pkcs8' }) };
  }

  private loadSecret(): Promise<Buffer> {
    this.secret ??= loadOrCreateSecret(this.keyDir);
    return this.secret;
  }
}

/** iv (12) | tag (16) | ciphertext; the key id is authenticated data, so a key cannot be moved to another row. */
function encrypt(secret: Buffer, plain: Buffer, kid: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  cipher.setAAD(Buffer.from(kid));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function decrypt(secret: Buffer, sealed: Buffer, kid: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', secret, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(kid));
  decipher.setAuthTag(sealed.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  } catch {
    throw new Error(`the private signing key ${kid} cannot be decrypted with ${REPORT_KEY_SECRET_FILE}: the secret file was replaced or the row altered`);
  }
}

/** Created once, atomically across processes (written privately, then hard-linked; the loser reads the winner's). */
async function loadOrCreateSecret(keyDir: string): Promise<Buffer> {
  const file = path.join(keyDir, REPORT_KEY_SECRET_FILE);
  const existing = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing) return checked(existing, file);
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(randomBytes(32));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return checked(await readFile(file), file);
}

function checked(secret: Buffer, file: string): Buffer {
  if (secret.length !== 32) throw new Error(`${file} must hold exactly 32 bytes (it holds ${secret.length}); restore it from the backup`);
  return secret;
}
