/**
 * Checks bearer tokens and turns them into a Principal: signed by the embedded key (default setup) or
 * by an OpenID Connect provider's published keys (production, Pro Santé Connect style). In both cases
 * the audience and issuer are checked, `exp` and `sub` are required, and clocks may differ by at most
 * CLOCK_TOLERANCE_SECONDS. Every refusal is an InvalidToken (401) whose message says what is wrong with
 * the token; an identity provider that cannot be reached is a 503, as it is not the caller's fault.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyOptions, type JWSAlgorithm } from 'jose';
import type { Settings } from '../../config/settings.ts';
import { ServiceUnavailable } from '../http/problem.ts';
import { EMBEDDED_ALGORITHM, EMBEDDED_ISSUER, loadOrCreateSigningKey } from './embedded-signing-key.ts';
import { InvalidToken } from './invalid-token.ts';
import type { ClaimsMapping } from '../../core/identity/claims-mapping.ts';
import { principalFromClaims } from './principal-from-claims.ts';
import type { Principal } from '../../core/identity/roles.ts';

export const CLOCK_TOLERANCE_SECONDS = 60;
/** Asymmetric algorithms only: a shared-secret (HS*) token could be forged by anyone holding the secret. */
const OIDC_ALGORITHMS: JWSAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

export interface TokenVerifier {
  readonly kind: 'embedded' | 'oidc';
  /** The Principal the token stands for; throws InvalidToken (401) or ServiceUnavailable (503). */
  verify(token: string): Promise<Principal>;
}

export interface TokenVerifierOptions {
  /** How long to wait for the identity provider's JWKS, in milliseconds (default 5000). */
  jwksTimeoutMs?: number;
  /** Milliseconds since the epoch, now (tests); default Date.now. */
  now?: () => number;
}

/**
 * A token verified once is taken again without a signature check for at most this long (never past its
 * `exp`): a viewer or a sending site presents the same token on every request, and an ECDSA/RSA verification
 * costs more CPU than serving a frame. Short enough that a key removed from the provider's JWKS stops working
 * within a minute.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Verified tokens remembered at most (oldest forgotten first). */
const VERIFIED_TOKEN_CACHE_SIZE = 1000;

/** What verifying needs of the auth settings (not the web app's sign-in client). */
export type VerifierSettings = Exclude<Settings['auth'], { kind: 'oidc' }> | Omit<Extract<Settings['auth'], { kind: 'oidc' }>, 'webClient'>;

export async function createTokenVerifier(
  auth: VerifierSettings,
  options: TokenVerifierOptions = {},
): Promise<TokenVerifier> {
  const common: JWTVerifyOptions = {
    audience: auth.audience,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp', 'sub'],
  };
  if (auth.kind === 'embedded') {
    const key = await loadOrCreateSigningKey(auth.keyDir);
    const verifyOptions = { ...common, issuer: EMBEDDED_ISSUER, algorithms: [EMBEDDED_ALGORITHM] };
    const now = options.now ?? Date.now;
    return remembering('embedded', (token) => verifyWith(() => jwtVerify(token, key.publicKey, { ...verifyOptions, currentDate: new Date(now()) })), now);
  }
  const jwks = createRemoteJWKSet(new URL(auth.jwksUrl), {
    timeoutDuration: options.jwksTimeoutMs ?? 5000,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  const verifyOptions = { ...common, issuer: auth.issuer, algorithms: OIDC_ALGORITHMS };
  const now = options.now ?? Date.now;
  return remembering('oidc', (token) => verifyWith(() => jwtVerify(token, jwks, { ...verifyOptions, currentDate: new Date(now()) }), auth.claims), now);
}

interface Verified {
  principal: Principal;
  /** `exp` in milliseconds since the epoch. */
  expiresAt: number;
}

/** A verifier that remembers tokens it verified (only successes) for VERIFIED_TOKEN_TTL_MS or until they expire. */
function remembering(kind: TokenVerifier['kind'], check: (token: string) => Promise<Verified>, now: () => number): TokenVerifier {
  const verified = new Map<string, { principal: Principal; until: number }>();
  return {
    kind,
    async verify(token) {
      const known = verified.get(token);
      if (known && now() < known.until) return known.principal;
      if (known) verified.delete(token);
      const { principal, expiresAt } = await check(token);
      if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
      verified.set(token, { principal, until: Math.min(now() + VERIFIED_TOKEN_TTL_MS, expiresAt) });
      return principal;
    },
  };
}

async function verifyWith(
  check: () => Promise<{ payload: Parameters<typeof principalFromClaims>[0] & { exp?: number } }>,
  claims?: ClaimsMapping,
): Promise<Verified> {
  let payload;
  try {
    ({ payload } = await check());
  } catch (error) {
    throw refusal(error);
  }
  // exp is a required claim, checked by jose.
  return { principal: principalFromClaims(payload, claims), expiresAt: (payload.exp ?? 0) * 1000 };
}

/** Maps a jose failure to what the user is told. */
function refusal(error: unknown): Error {
  if (error instanceof errors.JWTExpired) {
    return new InvalidToken('The token has expired; ask for a new one.', 'token-expired');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return new InvalidToken('The token was issued for another service (wrong audience).', 'token-wrong-audience');
      case 'iss':
        return new InvalidToken('The token was issued by an issuer this gateway does not trust.', 'token-wrong-issuer');
      case 'nbf':
        return new InvalidToken('The token is not valid yet; check the clock of the computer that made it.', 'token-not-yet-valid');
      default:
        return new InvalidToken(
          `The token lacks or has a malformed "${error.claim}" claim (${error.reason}); ask for a new token.`,
          'token-bad-claim',
        );
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return new InvalidToken(
      'The token signature is not valid: it was altered, or signed by a key this gateway does not trust.',
      'token-bad-signature',
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new InvalidToken('The token is signed with an algorithm this gateway does not accept.', 'token-bad-algorithm');
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new InvalidToken('The bearer token is not a well-formed signed JWT.', 'token-malformed');
  }
  // A failed JWKS download surfaces as a timeout, an invalid set, the generic JOSEError (not 200, not JSON)
  // or fetch's own TypeError.
  const generic = error instanceof errors.JOSEError && error.code === errors.JOSEError.code;
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || generic || !(error instanceof errors.JOSEError)) {
    return new ServiceUnavailable(
      'The identity provider could not be reached to check the token; try again in a moment.',
      'identity-provider-unavailable',
    );
  }
  return new InvalidToken('The token could not be verified.', 'token-invalid');
}
