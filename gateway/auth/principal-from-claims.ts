/**
 * The one place where a verified token's claims become a Principal, so that a configurable mapping
 * (Pro Santé Connect, Keycloak realm roles...) can grow here later. Default claims: `sub`; `role` (a
 * string) or `roles` (an array; names we do not know are ignored); `site` (FINESS); `rpps`; `territory`;
 * `jti`.
 */
import type { JWTPayload } from 'jose';
import { InvalidToken } from './invalid-token.ts';
import { isRole, parseFiness, ROLES, type Principal, type Role } from './roles.ts';

export function principalFromClaims(claims: JWTPayload): Principal {
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) {
    throw new InvalidToken('The token does not say who you are (no "sub" claim); ask for a new token.', 'token-missing-subject');
  }
  const role = roleOf(claims);
  const site = optionalString(claims, 'site');
  const finess = site === undefined ? undefined : parseFiness(site);
  if (site !== undefined && !finess) {
    throw new InvalidToken('The token\'s site is not a FINESS number (9 characters); ask for a new token.', 'token-bad-site');
  }
  if (role === 'sender' && !finess) {
    throw new InvalidToken(
      'A sender token must name its establishment (FINESS number in the "site" claim); ask for a new token with the site.',
      'token-missing-site',
    );
  }
  return dropUndefined({
    userId: claims.sub,
    role,
    site: finess,
    rpps: optionalString(claims, 'rpps'),
    territory: optionalString(claims, 'territory'),
    tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
  });
}

function roleOf(claims: JWTPayload): Role {
  if (isRole(claims.role)) return claims.role;
  const listed = Array.isArray(claims.roles) ? [...new Set(claims.roles.filter(isRole))] : [];
  if (listed.length === 1) return listed[0];
  if (listed.length > 1) {
    throw new InvalidToken(
      `The token carries several Astreinte roles (${listed.join(', ')}); a token must carry exactly one.`,
      'token-ambiguous-role',
    );
  }
  throw new InvalidToken(
    `The token carries no Astreinte role ("role" or "roles" claim with one of: ${ROLES.join(', ')}); ` +
      'ask your administrator to grant you one.',
    'token-missing-role',
  );
}

function optionalString(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function dropUndefined(principal: Principal): Principal {
  return Object.fromEntries(Object.entries(principal).filter(([, v]) => v !== undefined)) as unknown as Principal;
}
