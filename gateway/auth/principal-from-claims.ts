/**
 * The one place where a verified token's claims become a Principal, through a ClaimsMapping: the default
 * one (embedded tokens, and OIDC providers that use our claim names: `sub`; `role` or `roles`; `site`
 * (FINESS); `rpps`; `territory`; `jti`) or the one configured for the OpenID Connect provider.
 * Messages name the claims, never their values. A reader or expert must carry a valid RPPS: refused (403)
 * otherwise, never identified by the subject instead.
 */
import type { JWTPayload } from 'jose';
import { claimValues, DEFAULT_CLAIMS_MAPPING, knownRoles, rppsFromClaimValue, type ClaimsMapping } from '../../core/identity/claims-mapping.ts';
import { InvalidToken } from './invalid-token.ts';
import { Forbidden } from '../http/problem.ts';
import { parseFiness, ROLES, type Principal, type Role } from '../../core/identity/roles.ts';

export function principalFromClaims(claims: JWTPayload, mapping: ClaimsMapping = DEFAULT_CLAIMS_MAPPING): Principal {
  const userId = singleValue(claims, mapping.user);
  if (userId === undefined) {
    throw new InvalidToken(`The token does not say who you are (no "${mapping.user}" claim); ask for a new token.`, 'token-missing-subject');
  }
  const role = roleOf(claims, mapping);
  const site = singleValue(claims, mapping.site);
  const finess = site === undefined ? undefined : parseFiness(site);
  if (site !== undefined && !finess) {
    throw new InvalidToken(`The token's site ("${mapping.site}" claim) is not a FINESS number (9 characters); ask for a new token.`, 'token-bad-site');
  }
  if (role === 'sender' && !finess) {
    throw new InvalidToken(
      `A sender token must name its establishment (FINESS number in the "${mapping.site}" claim); ask for a new token with the site.`,
      'token-missing-site',
    );
  }
  const rppsClaim = singleValue(claims, mapping.rpps);
  const rpps = rppsClaim === undefined ? undefined : rppsFromClaimValue(rppsClaim);
  if ((role === 'reader' || role === 'expert') && rpps === undefined) {
    // Never fall back on the subject: whoever has another practitioner's RPPS as `sub` would get their pools.
    throw new Forbidden(
      rppsClaim === undefined
        ? `Votre jeton ne porte pas votre numéro RPPS (revendication "${mapping.rpps}") : un lecteur ou un expert est reconnu par son RPPS. ` +
            `Reconnectez-vous, ou demandez à votre administrateur d'identité d'ajouter ce numéro. ` +
            `(Your token carries no RPPS number in the "${mapping.rpps}" claim; readers and experts are known by it: sign in again or ask your identity administrator to add it.)`
        : `Le numéro RPPS de votre jeton (revendication "${mapping.rpps}") n'est pas un RPPS (11 chiffres, ou 8 suivi des 11 chiffres) : demandez un nouveau jeton. ` +
            `(The RPPS number in the "${mapping.rpps}" claim is not one: 11 digits, or 8 followed by them; ask for a new token.)`,
      rppsClaim === undefined ? 'token-missing-rpps' : 'token-bad-rpps',
    );
  }
  return dropUndefined({
    userId,
    role,
    site: finess,
    rpps,
    territory: singleValue(claims, mapping.territory),
    tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
  });
}

function roleOf(claims: JWTPayload, mapping: ClaimsMapping): Role {
  for (const path of mapping.roles) {
    const carried = knownRoles(claimValues(claims, path), mapping.roleMap);
    if (carried.length === 1) return carried[0];
    if (carried.length > 1) {
      const preferred = mapping.rolePrecedence?.find((role) => carried.includes(role));
      if (preferred) return preferred;
      throw new InvalidToken(
        `The token carries several Astreinte roles (${carried.join(', ')}); a token must carry exactly one` +
          (mapping.rolePrecedence ? `, or one of ${mapping.rolePrecedence.join(', ')} (OIDC_ROLE_PRECEDENCE).` : '.'),
        'token-ambiguous-role',
      );
    }
  }
  const where = mapping.roles.map((path) => `"${path}"`).join(' or ');
  const names = mapping.roleMap ? [...mapping.roleMap.keys()] : [...ROLES];
  throw new InvalidToken(
    `The token carries no Astreinte role (${where} claim with one of: ${names.join(', ')}); ask your administrator to grant you one.`,
    'token-missing-role',
  );
}

/**
 * The one string (or whole number) at a claim path, trimmed; undefined when there is none. Several different
 * values (a claim path walking through several exercises, say) are refused: we cannot guess which one is meant.
 */
function singleValue(claims: JWTPayload, path: string): string | undefined {
  const values = new Set<string>();
  for (const value of claimValues(claims, path)) {
    const text = typeof value === 'string' ? value.trim() : Number.isSafeInteger(value) ? String(value) : undefined;
    if (text) values.add(text);
  }
  if (values.size > 1) {
    throw new InvalidToken(`The token's "${path}" claim holds several different values where one is expected; ask for a new token.`, 'token-ambiguous-claim');
  }
  return values.values().next().value;
}

function dropUndefined(principal: Principal): Principal {
  return Object.fromEntries(Object.entries(principal).filter(([, v]) => v !== undefined)) as unknown as Principal;
}
