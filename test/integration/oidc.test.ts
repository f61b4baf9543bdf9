/**
 * The gateway trusting an OpenID Connect provider: a real HTTP server on a loopback port publishes a
 * JWKS (generated key pairs), tokens signed with those keys are verified through it.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClaimsMapping } from '../../core/identity/claims-mapping.ts';
import { createTokenVerifier, type TokenVerifier } from '../../gateway/auth/token-verifier.ts';
import { HttpProblem } from '../../gateway/http/problem.ts';
import { freePort } from '../support/free-port.ts';

const AUDIENCE = 'astreinte-pacs';
let server: Server;
let issuer: string;
let jwksUrl: string;
let jwksRequests = 0;
let published: JWK[] = [];
let rsaKey: CryptoKey;
let ecKey: CryptoKey;
let verifier: TokenVerifier;

beforeAll(async () => {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  rsaKey = rsa.privateKey;
  ecKey = ec.privateKey;
  published = [
    { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ];
  server = http.createServer((req, res) => {
    if (req.url === '/realms/sante/protocol/openid-connect/certs') {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${base}/realms/sante`;
  jwksUrl = `${issuer}/protocol/openid-connect/certs`;
  verifier = await createTokenVerifier({ kind: 'oidc', issuer, jwksUrl, audience: AUDIENCE });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

interface TokenSpec {
  key?: CryptoKey;
  alg?: string;
  kid?: string;
  iss?: string;
  aud?: string;
  claims?: Record<string, unknown>;
}

function token({ key = rsaKey, alg = 'RS256', kid = 'rsa-1', iss = issuer, aud = AUDIENCE, claims = {} }: TokenSpec = {}) {
  return new SignJWT({ roles: ['offline_access', 'reader'], rpps: '10101234567', ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject('f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:899700218896')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

async function refusal(promise: Promise<unknown>): Promise<HttpProblem> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('OpenID Connect token verification', () => {
  it('verifies a token of the issuer through its JWKS and maps the claims', async () => {
    expect(verifier.kind).toBe('oidc');
    expect(await verifier.verify(await token())).toEqual({
      userId: 'f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:899700218896',
      role: 'reader',
      rpps: '10101234567',
    });
    expect(await verifier.verify(await token({ key: ecKey, alg: 'ES256', kid: 'ec-1', claims: { roles: undefined, role: 'sender', site: '330781196' } }))).toMatchObject({
      role: 'sender',
      site: '330781196',
    });
    expect(jwksRequests).toBe(1); // fetched once, then cached
  });

  it('accepts an audience list that contains ours', async () => {
    const t = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setIssuer(issuer)
      .setAudience(['account', AUDIENCE])
      .setSubject('admin-1')
      .setExpirationTime('5m')
      .sign(rsaKey);
    expect((await verifier.verify(t)).role).toBe('admin');
  });

  it('refuses a token from another issuer', async () => {
    const error = await refusal(verifier.verify(await token({ iss: 'https://evil.example/realms/sante' })));
    expect(error).toMatchObject({ status: 401, code: 'token-wrong-issuer' });
  });

  it('refuses a token for another audience', async () => {
    const error = await refusal(verifier.verify(await token({ aud: 'another-app' })));
    expect(error).toMatchObject({ status: 401, code: 'token-wrong-audience' });
  });

  it('refuses a token signed by a key the issuer does not publish', async () => {
    const stranger = await generateKeyPair('RS256');
    const unknownKid = await refusal(verifier.verify(await token({ key: stranger.privateKey, kid: 'rsa-2' })));
    expect(unknownKid).toMatchObject({ status: 401, code: 'token-bad-signature' });
    const stolenKid = await refusal(verifier.verify(await token({ key: stranger.privateKey, kid: 'rsa-1' })));
    expect(stolenKid).toMatchObject({ status: 401, code: 'token-bad-signature' });
  });

  it('refuses shared-secret (HS256) tokens', async () => {
    const t = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setIssuer(issuer)
      .setAudience(AUDIENCE)
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-secret-that-is-long-enough-for-hs256!!'));
    expect(await refusal(verifier.verify(t))).toMatchObject({ status: 401, code: 'token-bad-algorithm' });
  });

  it('refuses a token of the issuer without an Astreinte role', async () => {
    const error = await refusal(verifier.verify(await token({ claims: { roles: ['offline_access'] } })));
    expect(error).toMatchObject({ status: 401, code: 'token-missing-role' });
  });

  it('maps a Pro Santé Connect token through the configured claims mapping', async () => {
    const parsed = parseClaimsMapping({
      OIDC_CLAIM_ROLES: 'realm_access.roles',
      OIDC_CLAIM_RPPS: 'SubjectNameID',
      OIDC_ROLE_MAP: 'radiologue=reader,coordonnateur=coordinator',
      OIDC_ROLE_PRECEDENCE: 'reader',
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const psc = await createTokenVerifier({ kind: 'oidc', issuer, jwksUrl, audience: AUDIENCE, claims: parsed.mapping });
    const claims = {
      roles: undefined,
      rpps: undefined,
      SubjectNameID: '899700218896',
      realm_access: { roles: ['offline_access', 'coordonnateur', 'radiologue'] },
    };
    const principal = await psc.verify(await token({ claims })).catch((error: unknown) => error);
    expect(principal).toEqual({ userId: 'f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:899700218896', role: 'reader', rpps: '99700218896' });
    const unknownRole = await refusal(psc.verify(await token({ claims: { ...claims, realm_access: { roles: ['reader'] } } })));
    expect(unknownRole).toMatchObject({ status: 401, code: 'token-missing-role' });
  });

  it('answers 503, not 401, when the identity provider cannot be reached', async () => {
    const unreachable = await createTokenVerifier(
      { kind: 'oidc', issuer, jwksUrl: `${issuer}/missing-certs`, audience: AUDIENCE },
      { jwksTimeoutMs: 2000 },
    );
    const error = await refusal(unreachable.verify(await token()));
    expect(error).toMatchObject({ status: 503, code: 'identity-provider-unavailable' });
    const closedPort = await createTokenVerifier(
      { kind: 'oidc', issuer, jwksUrl: `http://127.0.0.1:${await freePort()}/certs`, audience: AUDIENCE },
      { jwksTimeoutMs: 2000 },
    );
    expect(await refusal(closedPort.verify(await token()))).toMatchObject({ status: 503 });
  });
});
