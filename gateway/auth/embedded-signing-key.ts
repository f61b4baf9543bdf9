/**
 * The embedded token issuer used when no OpenID Connect provider is configured: one ES256 key pair
 * kept in `<dataDir>/keys/token-signing-key.json` (mode 0600, directory 0700), created on first use.
 *
 * Creation is atomic across processes: the key is written to a private temporary file, flushed, then
 * hard-linked to its final name, which fails if another process got there first; the loser reads the
 * winner's key. So a gateway and `astreinte token` started at the same moment share ONE key, and no
 * process ever reads a half-written file. To rotate the key, stop the gateway and delete the file: every
 * token issued with the old key stops working.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { BadRequest } from '../http/problem.ts';
import { isRole, parseFiness, ROLES, type Role } from '../../core/identity/roles.ts';

export const EMBEDDED_ISSUER = 'astreinte-embedded';
export const EMBEDDED_ALGORITHM = 'ES256';
export const SIGNING_KEY_FILE = 'token-signing-key.json';
/** Default lifetime of a token: one on-call night or working day. */
export const DEFAULT_TOKEN_TTL_SECONDS = 12 * 3600;
export const MIN_TOKEN_TTL_SECONDS = 60;
/** Longest lifetime allowed, for the sending gateway of a site (until revocation lists exist). */
export const MAX_TOKEN_TTL_SECONDS = 366 * 24 * 3600;

export interface EmbeddedSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public half, e.g. to publish as a JWKS. */
  publicJwk: JWK;
  file: string;
}

/** Loads the signing key from keyDir, creating it (once, atomically) when there is none. */
export async function loadOrCreateSigningKey(keyDir: string): Promise<EmbeddedSigningKey> {
  const file = path.join(keyDir, SIGNING_KEY_FILE);
  const existing = await loadSigningKey(file);
  if (existing) return existing;
  await mkdir(keyDir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(EMBEDDED_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const stored: JWK = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: EMBEDDED_ALGORITHM, use: 'sig' };
  const temporary = path.join(keyDir, `.${SIGNING_KEY_FILE}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(stored, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temporary, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw keyFileError(file, 'could not be created', error);
    });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  const created = await loadSigningKey(file);
  if (!created) throw new Error(`The token signing key ${file} disappeared while it was being created.`);
  return created;
}

async function loadSigningKey(file: string): Promise<EmbeddedSigningKey | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyFileError(file, 'cannot be read', error as NodeJS.ErrnoException);
  }
  try {
    const jwk = JSON.parse(text) as JWK;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d || !jwk.x || !jwk.y) {
      throw new Error('not a private P-256 key');
    }
    const publicJwk: JWK = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
    const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
    return {
      kid,
      privateKey: (await importJWK(jwk, EMBEDDED_ALGORITHM)) as CryptoKey,
      publicKey: (await importJWK(publicJwk, EMBEDDED_ALGORITHM)) as CryptoKey,
      publicJwk: { ...publicJwk, kid, alg: EMBEDDED_ALGORITHM, use: 'sig' },
      file,
    };
  } catch (error) {
    throw new Error(
      `The token signing key ${file} is damaged (${(error as Error).message}). Move it away and restart to ` +
        'create a new one; tokens issued with the old key will then be refused.',
    );
  }
}

function keyFileError(file: string, what: string, error: NodeJS.ErrnoException): Error {
  const hint =
    error.code === 'EACCES' || error.code === 'EPERM'
      ? ' Run Astreinte (and astreinte token) as the user that owns the data directory.'
      : '';
  return new Error(`The token signing key ${file} ${what}: ${error.message}.${hint}`);
}

export interface IssueTokenOptions {
  role: Role;
  /** FINESS of the establishment; required for a sender. */
  site?: string;
  /** Subject; defaults to `<role>-cli`. */
  user?: string;
  /** RPPS number of a practitioner (11 digits). */
  rpps?: string;
  /** Territory id of a coordinator (from the region configuration). */
  territory?: string;
  /** Lifetime, DEFAULT_TOKEN_TTL_SECONDS (12 h) by default, between 60 s and 366 days. */
  ttlSeconds?: number;
  audience: string;
}

/** Signs a token with the embedded key. Invalid options throw BadRequest saying what to fix. */
export async function issueToken(key: EmbeddedSigningKey, options: IssueTokenOptions): Promise<string> {
  if (!isRole(options.role)) {
    throw new BadRequest(`Unknown role ${JSON.stringify(options.role)}: use one of ${ROLES.join(', ')}.`, 'bad-role');
  }
  let site: string | undefined;
  if (options.site !== undefined) {
    site = parseFiness(options.site);
    if (!site) {
      throw new BadRequest(
        `${JSON.stringify(options.site)} is not a FINESS number: 9 characters, the département (2 digits, 2A or 2B) then 7 digits.`,
        'bad-site',
      );
    }
  }
  if (options.role === 'sender' && !site) {
    throw new BadRequest('A sender token needs the FINESS number of its establishment (--site).', 'missing-site');
  }
  const user = options.user ?? `${options.role}-cli`;
  if (!/^[\x21-\x7e]{1,128}$/.test(user)) {
    throw new BadRequest('The user id must be 1 to 128 printable ASCII characters without spaces.', 'bad-user');
  }
  if (options.rpps !== undefined && !/^\d{11}$/.test(options.rpps)) {
    throw new BadRequest(`${JSON.stringify(options.rpps)} is not an RPPS number: 11 digits.`, 'bad-rpps');
  }
  if (options.territory !== undefined && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(options.territory)) {
    throw new BadRequest('The territory id is the one of the region configuration: lower-case letters, digits and dashes.', 'bad-territory');
  }
  if ((options.role === 'reader' || options.role === 'expert') && options.rpps === undefined) {
    throw new BadRequest('A reader or expert token needs the practitioner\'s RPPS number (--rpps, 11 digits).', 'missing-rpps');
  }
  if (options.role === 'coordinator' && options.territory === undefined) {
    throw new BadRequest('A coordinator token needs the territory the coordinator is responsible for (--territory).', 'missing-territory');
  }
  const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < MIN_TOKEN_TTL_SECONDS || ttl > MAX_TOKEN_TTL_SECONDS) {
    throw new BadRequest(
      `The lifetime must be a whole number of seconds from ${MIN_TOKEN_TTL_SECONDS} to ${MAX_TOKEN_TTL_SECONDS} (366 days).`,
      'bad-ttl',
    );
  }
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    role: options.role,
    ...(site ? { site } : {}),
    ...(options.rpps ? { rpps: options.rpps } : {}),
    ...(options.territory ? { territory: options.territory } : {}),
  })
    .setProtectedHeader({ alg: EMBEDDED_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(EMBEDDED_ISSUER)
    .setAudience(options.audience)
    .setSubject(user)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(randomUUID())
    .sign(key.privateKey);
}
