import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_TOKEN_TTL_SECONDS,
  EMBEDDED_ISSUER,
  issueToken,
  loadOrCreateSigningKey,
  SIGNING_KEY_FILE,
  type EmbeddedSigningKey,
} from '../../../gateway/auth/embedded-signing-key.ts';
import { InvalidToken } from '../../../gateway/auth/invalid-token.ts';
import { createTokenVerifier, type TokenVerifier } from '../../../gateway/auth/token-verifier.ts';
import { BadRequest, HttpProblem } from '../../../gateway/http/problem.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../../..');
const AUDIENCE = 'astreinte-test';
const FINESS = '750000001';

let root: string;
let keyDir: string;
let key: EmbeddedSigningKey;
let verifier: TokenVerifier;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'astreinte-auth-'));
  keyDir = path.join(root, 'keys');
  verifier = await createTokenVerifier({ kind: 'embedded', keyDir, audience: AUDIENCE });
  key = await loadOrCreateSigningKey(keyDir);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<HttpProblem> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** A token signed by `signer` with arbitrary claims, for cases issueToken refuses to produce. */
function forge(signer: EmbeddedSigningKey, claims: Record<string, unknown>, setup: (jwt: SignJWT) => SignJWT = (j) => j) {
  const now = Math.floor(Date.now() / 1000);
  return setup(
    new SignJWT({ role: 'reader', rpps: '10001234567', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: signer.kid })
      .setIssuer(EMBEDDED_ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('someone')
      .setIssuedAt(now)
      .setExpirationTime(now + 600),
  ).sign(signer.privateKey);
}

describe('embedded signing key', () => {
  it('is created once with private permissions and loaded again', async () => {
    const file = path.join(keyDir, SIGNING_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(keyDir)).mode & 0o777).toBe(0o700);
    const again = await loadOrCreateSigningKey(keyDir);
    expect(again.kid).toBe(key.kid);
    expect(again.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: key.kid });
    expect(again.publicJwk).not.toHaveProperty('d');
    expect(await readdir(keyDir)).toEqual([SIGNING_KEY_FILE]);
  });

  it('ends with ONE key when many creations race in one fresh directory', async () => {
    const dir = path.join(root, 'race-in-process', 'keys');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(dir)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(await readdir(dir)).toEqual([SIGNING_KEY_FILE]);
    // tokens signed by any of them verify with the key on disk
    const v = await createTokenVerifier({ kind: 'embedded', keyDir: dir, audience: AUDIENCE });
    const token = await issueToken(keys[5], { role: 'reader', rpps: '10001234567', audience: AUDIENCE });
    expect((await v.verify(token)).role).toBe('reader');
  });

  it('ends with ONE key when two processes create it at the same moment', async () => {
    const dir = path.join(root, 'race-processes', 'keys');
    const script = `import { loadOrCreateSigningKey } from './gateway/auth/embedded-signing-key.ts';
      const at = Number(process.argv[2]); while (Date.now() < at) {}
      process.stdout.write((await loadOrCreateSigningKey(process.argv[1])).kid);`;
    const at = Date.now() + 1500; // both processes loaded by then; they start creating together
    const runs = [0, 1].map(() =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, String(at)], { cwd: repoRoot }),
    );
    const kids = (await Promise.all(runs)).map((r) => r.stdout);
    expect(kids[0]).toMatch(/^[\w-]{43}$/);
    expect(kids[1]).toBe(kids[0]);
    expect(await readdir(dir)).toEqual([SIGNING_KEY_FILE]);
  });

  it('says how to recover from a damaged key file', async () => {
    const dir = path.join(root, 'damaged');
    await mkdir(dir);
    await writeFile(path.join(dir, SIGNING_KEY_FILE), '{"kty":"EC"');
    await expect(loadOrCreateSigningKey(dir)).rejects.toThrow(/is damaged .*Move it away/);
  });
});

describe('issue and verify', () => {
  it('round-trips a sender token with its site', async () => {
    const token = await issueToken(key, { role: 'sender', site: FINESS, user: 'ch-nord-gw', audience: AUDIENCE });
    const principal = await verifier.verify(token);
    expect(principal).toEqual({ userId: 'ch-nord-gw', role: 'sender', site: FINESS, tokenId: expect.any(String) });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: EMBEDDED_ISSUER, aud: AUDIENCE, sub: 'ch-nord-gw', role: 'sender', site: FINESS });
    expect(claims.exp! - claims.iat!).toBe(DEFAULT_TOKEN_TTL_SECONDS);
  });

  it('defaults the user to <role>-cli and honours the lifetime', async () => {
    const token = await issueToken(key, { role: 'admin', ttlSeconds: 300, audience: AUDIENCE });
    expect(await verifier.verify(token)).toMatchObject({ userId: 'admin-cli', role: 'admin' });
    const claims = decodeJwt(token);
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(claims.site).toBeUndefined();
  });

  it('accepts Corsican FINESS numbers and canonicalises them', async () => {
    const token = await issueToken(key, { role: 'sender', site: '2a0000014', audience: AUDIENCE });
    expect((await verifier.verify(token)).site).toBe('2A0000014');
  });

  it('refuses to issue a sender token without a site, a bad FINESS, a bad lifetime or user', async () => {
    const cases: [Parameters<typeof issueToken>[1], RegExp][] = [
      [{ role: 'sender', audience: AUDIENCE }, /needs the FINESS/],
      [{ role: 'sender', site: '75000001', audience: AUDIENCE }, /is not a FINESS number/],
      [{ role: 'reader', rpps: '10001234567', site: '75000000X', audience: AUDIENCE }, /is not a FINESS number/],
      [{ role: 'reader', rpps: '10001234567', ttlSeconds: 10, audience: AUDIENCE }, /lifetime/],
      [{ role: 'reader', rpps: '10001234567', ttlSeconds: 400 * 86400, audience: AUDIENCE }, /lifetime/],
      [{ role: 'reader', rpps: '10001234567', user: 'has space', audience: AUDIENCE }, /user id/],
      [{ role: 'boss' as 'reader', audience: AUDIENCE }, /Unknown role/],
    ];
    for (const [options, message] of cases) {
      const error = await refusal(issueToken(key, options));
      expect(error, JSON.stringify(options)).toBeInstanceOf(BadRequest);
      expect(error.message).toMatch(message);
    }
  });

  it('refuses an expired token, and accepts one that expired within the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await forge(key, {}, (j) => j.setIssuedAt(now - 3600).setExpirationTime(now - 120));
    const error = await refusal(verifier.verify(expired));
    expect(error).toBeInstanceOf(InvalidToken);
    expect(error).toMatchObject({ status: 401, code: 'token-expired' });
    expect(error.message).toMatch(/expired/);
    expect(error.headers['WWW-Authenticate']).toMatch(/^Bearer realm="astreinte", error="invalid_token", error_description="The token has expired/);

    const justExpired = await forge(key, {}, (j) => j.setExpirationTime(now - 30));
    expect((await verifier.verify(justExpired)).role).toBe('reader');
  });

  it('refuses a token without expiry', async () => {
    const token = await new SignJWT({ role: 'reader', rpps: '10001234567' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(EMBEDDED_ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('x')
      .sign(key.privateKey);
    expect(await refusal(verifier.verify(token))).toMatchObject({ status: 401, code: 'token-bad-claim' });
  });

  it('refuses a token for another audience', async () => {
    const token = await issueToken(key, { role: 'reader', rpps: '10001234567', audience: 'another-service' });
    const error = await refusal(verifier.verify(token));
    expect(error).toMatchObject({ status: 401, code: 'token-wrong-audience' });
    expect(error.message).toMatch(/another service/);
  });

  it('refuses a token from another issuer name', async () => {
    const token = await forge(key, {}, (j) => j.setIssuer('someone-else'));
    expect(await refusal(verifier.verify(token))).toMatchObject({ status: 401, code: 'token-wrong-issuer' });
  });

  it('refuses a tampered token and one signed by another installation', async () => {
    const token = await issueToken(key, { role: 'reader', rpps: '10001234567', audience: AUDIENCE });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const tampered = await refusal(verifier.verify(`${header}.${promoted}.${signature}`));
    expect(tampered).toMatchObject({ status: 401, code: 'token-bad-signature' });
    expect(tampered.message).toMatch(/signature is not valid/);

    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect(await refusal(verifier.verify(`${header}.${payload}.${flipped}`))).toMatchObject({ code: 'token-bad-signature' });

    const other = await loadOrCreateSigningKey(path.join(root, 'other-installation'));
    const foreign = await issueToken(other, { role: 'reader', rpps: '10001234567', audience: AUDIENCE });
    expect(await refusal(verifier.verify(foreign))).toMatchObject({ code: 'token-bad-signature' });
  });

  it('refuses garbage and unsigned tokens', async () => {
    for (const token of ['not-a-jwt', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
      const error = await refusal(verifier.verify(token));
      expect(error.status, token).toBe(401);
      expect(['token-malformed', 'token-bad-algorithm']).toContain(error.code);
    }
  });

  it('refuses a sender token without a site and a token without a known role', async () => {
    const senderWithoutSite = await forge(key, { role: 'sender' });
    expect(await refusal(verifier.verify(senderWithoutSite))).toMatchObject({ status: 401, code: 'token-missing-site' });
    const badSite = await forge(key, { role: 'sender', site: '123' });
    expect(await refusal(verifier.verify(badSite))).toMatchObject({ code: 'token-bad-site' });
    const noRole = await forge(key, { role: 'superuser' });
    const error = await refusal(verifier.verify(noRole));
    expect(error).toMatchObject({ status: 401, code: 'token-missing-role' });
    expect(error.message).toMatch(/no Astreinte role/);
  });

  it('maps a roles array, ignoring names it does not know, and refuses several roles', async () => {
    const listed = await forge(key, { role: undefined, roles: ['offline_access', 'reader'], rpps: '10001234567', territory: 'IDF' });
    expect(await verifier.verify(listed)).toEqual({ userId: 'someone', role: 'reader', rpps: '10001234567', territory: 'IDF' });
    const several = await forge(key, { role: undefined, roles: ['reader', 'admin'] });
    expect(await refusal(verifier.verify(several))).toMatchObject({ code: 'token-ambiguous-role' });
  });

  it('stores the key as a JWK naming its kid and algorithm', async () => {
    const raw = await readFile(path.join(keyDir, SIGNING_KEY_FILE), 'utf8');
    expect(JSON.parse(raw)).toMatchObject({ kty: 'EC', kid: key.kid, alg: 'ES256' });
  });
});

describe('verified tokens remembered', () => {
  it('accepts a remembered token without re-verifying only until its expiry, then refuses it as expired', async () => {
    let nowMs = Date.now();
    const clocked = await createTokenVerifier({ kind: 'embedded', keyDir, audience: AUDIENCE }, { now: () => nowMs });
    const token = await forge(key, {}, (jwt) => jwt.setExpirationTime(Math.floor(nowMs / 1000) + 30));
    expect((await clocked.verify(token)).userId).toBe('someone');
    nowMs += 20_000;
    expect((await clocked.verify(token)).userId).toBe('someone');
    // Past exp (and jose's clock tolerance): verified again, and refused.
    nowMs += 120_000;
    const expired = await refusal(clocked.verify(token));
    expect(expired.status).toBe(401);
    expect(expired.code).toBe('token-expired');
  });

  it('never takes a remembered token for another one: a changed signature is refused', async () => {
    const token = await forge(key, {});
    await verifier.verify(token);
    const [header, payload, signature] = token.split('.');
    const altered = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BA' : 'AA'}`;
    expect((await refusal(verifier.verify(altered))).status).toBe(401);
  });
});
