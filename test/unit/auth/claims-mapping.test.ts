import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../config/settings.ts';
import { ConfigurationError } from '../../../core/configuration-error.ts';
import {
  claimValues,
  DEFAULT_CLAIMS_MAPPING,
  parseClaimsMapping,
  rppsFromClaimValue,
  type ClaimsMapping,
  type ClaimsMappingEnvironment,
} from '../../../core/identity/claims-mapping.ts';
import { principalFromClaims } from '../../../gateway/auth/principal-from-claims.ts';
import { HttpProblem } from '../../../gateway/http/problem.ts';

function mapping(env: ClaimsMappingEnvironment): ClaimsMapping {
  const parsed = parseClaimsMapping(env);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.variable}: ${p.message}`).join('\n'));
  return parsed.mapping;
}

function refusal(run: () => unknown): HttpProblem {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** An access token of a Keycloak realm brokering Pro Santé Connect, as a Pro Santé Connect user gets it. */
const pscToken = {
  sub: 'f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:899700218896',
  preferred_username: '899700218896',
  SubjectNameID: '899700218896',
  realm_access: { roles: ['offline_access', 'uma_authorization', 'radiologue'] },
  resource_access: { astreinte: { roles: ['teleradiologue'] }, account: { roles: ['manage-account'] } },
  SubjectRefPro: {
    codeCivilite: 'DR',
    exercices: [{ codeProfession: '10', activities: [{ raisonSocialeSite: 'CH Exemple', ancienIdentifiantDeLaStructure: '310780010' }] }],
  },
  jti: 'e2b1c6f0-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
};

describe('claimValues', () => {
  it('reads a top-level claim, a dotted path, and walks arrays', () => {
    expect(claimValues(pscToken, 'sub')).toEqual([pscToken.sub]);
    expect(claimValues(pscToken, 'realm_access.roles')).toEqual(['offline_access', 'uma_authorization', 'radiologue']);
    expect(claimValues(pscToken, 'resource_access.astreinte.roles')).toEqual(['teleradiologue']);
    expect(claimValues(pscToken, 'SubjectRefPro.exercices.codeProfession')).toEqual(['10']);
    expect(claimValues(pscToken, 'SubjectRefPro.exercices.activities.ancienIdentifiantDeLaStructure')).toEqual(['310780010']);
    expect(claimValues(pscToken, 'realm_access.missing')).toEqual([]);
    expect(claimValues(pscToken, 'sub.length')).toEqual([]);
  });

  it('prefers a claim whose name contains dots (namespaced claims) over the path', () => {
    const claims = { 'https://idp.example.fr/roles': ['reader'], https: { '//idp': 'no' } };
    expect(claimValues(claims, 'https://idp.example.fr/roles')).toEqual(['reader']);
  });

  it('does not walk into inherited properties', () => {
    expect(claimValues({}, 'constructor.name')).toEqual([]);
    expect(claimValues({ a: {} }, 'a.toString')).toEqual([]);
  });
});

describe('rppsFromClaimValue', () => {
  it('takes 11 digits as is and strips the 8 of a Pro Santé Connect national identifier', () => {
    expect(rppsFromClaimValue('10101234567')).toBe('10101234567');
    expect(rppsFromClaimValue('810101234567')).toBe('10101234567');
    expect(rppsFromClaimValue(' 899700218896 ')).toBe('99700218896');
  });

  it('gives nothing for identifiers that are not RPPS numbers', () => {
    expect(rppsFromClaimValue('0123456789')).toBeUndefined(); // ADELI-based: 0 + ADELI
    expect(rppsFromClaimValue('310101234567')).toBeUndefined(); // 12 digits not starting with 8
    expect(rppsFromClaimValue('3310780010/12345')).toBeUndefined();
    expect(rppsFromClaimValue('8101012345')).toBeUndefined();
    expect(rppsFromClaimValue('rpps-10101234567')).toBeUndefined();
  });
});

describe('the default mapping (embedded tokens, unconfigured OIDC)', () => {
  it('is what an empty environment gives', () => {
    expect(mapping({})).toEqual(DEFAULT_CLAIMS_MAPPING);
    expect(mapping({ OIDC_CLAIM_USER: '  ', OIDC_ROLE_MAP: '' })).toEqual(DEFAULT_CLAIMS_MAPPING);
  });

  it('maps sub, role, site, rpps, territory and jti', () => {
    expect(principalFromClaims({ sub: 'u1', role: 'sender', site: '2a0000018', rpps: '10101234567', territory: 'toulouse', jti: 'j1' })).toEqual({
      userId: 'u1',
      role: 'sender',
      site: '2A0000018',
      rpps: '10101234567',
      territory: 'toulouse',
      tokenId: 'j1',
    });
  });

  it('takes "role" before "roles", ignores unknown names, refuses several roles', () => {
    expect(principalFromClaims({ sub: 'u', role: 'admin', roles: ['reader'] }).role).toBe('admin');
    expect(principalFromClaims({ sub: 'u', role: 'doctor', roles: ['offline_access', 'reader'], rpps: '10101234567' }).role).toBe('reader');
    const several = refusal(() => principalFromClaims({ sub: 'u', roles: ['reader', 'admin'] }));
    expect(several).toMatchObject({ status: 401, code: 'token-ambiguous-role' });
    expect(several.message).toMatch(/reader, admin/);
    expect(refusal(() => principalFromClaims({ sub: 'u', roles: ['offline_access'] }))).toMatchObject({ code: 'token-missing-role' });
  });

  it('refuses (403) a reader or expert without RPPS claim, never taking the subject for one', () => {
    // The subject is another practitioner's RPPS: before, the token got that practitioner's pools.
    for (const role of ['reader', 'expert']) {
      const error = refusal(() => principalFromClaims({ sub: '10009000011', role }));
      expect(error).toMatchObject({ status: 403, code: 'token-missing-rpps' });
      expect(error.message).toMatch(/RPPS/);
      expect(refusal(() => principalFromClaims({ sub: '10009000011', role, rpps: 'rpps-1' }))).toMatchObject({ status: 403, code: 'token-bad-rpps' });
    }
    expect(principalFromClaims({ sub: 'u', role: 'reader', rpps: '810009000011' }).rpps).toBe('10009000011');
    expect(principalFromClaims({ sub: 'u', role: 'coordinator', territory: 't' })).not.toHaveProperty('rpps');
  });

  it('refuses a token without subject, a sender without site, a site that is not a FINESS', () => {
    expect(refusal(() => principalFromClaims({ role: 'reader' }))).toMatchObject({ code: 'token-missing-subject' });
    expect(refusal(() => principalFromClaims({ sub: '', role: 'reader' }))).toMatchObject({ code: 'token-missing-subject' });
    expect(refusal(() => principalFromClaims({ sub: 'u', role: 'sender' }))).toMatchObject({ code: 'token-missing-site' });
    const bad = refusal(() => principalFromClaims({ sub: 'u', role: 'reader', site: 'CHU-31' }));
    expect(bad).toMatchObject({ code: 'token-bad-site' });
    expect(bad.message).not.toMatch(/CHU-31/);
  });
});

describe('a configured mapping (Pro Santé Connect through Keycloak)', () => {
  const psc = mapping({
    OIDC_CLAIM_ROLES: 'realm_access.roles, resource_access.astreinte.roles',
    OIDC_CLAIM_RPPS: 'SubjectNameID',
    OIDC_CLAIM_SITE: 'SubjectRefPro.exercices.activities.ancienIdentifiantDeLaStructure',
    OIDC_ROLE_MAP: 'radiologue=reader,teleradiologue=expert,coordonnateur=coordinator,expert=expert',
  });

  it('maps the realm role through the role map, the RPPS from SubjectNameID, the site from the exercise', () => {
    expect(principalFromClaims(pscToken, psc)).toEqual({
      userId: pscToken.sub,
      role: 'reader',
      rpps: '99700218896',
      site: '310780010',
      tokenId: pscToken.jti,
    });
  });

  it('tries the role claims in order', () => {
    const noRealmRole = { ...pscToken, realm_access: { roles: ['offline_access'] } };
    expect(principalFromClaims(noRealmRole, psc).role).toBe('expert');
  });

  it('counts only the names of the role map: a realm role named like ours is not ours', () => {
    const generic = { ...pscToken, realm_access: { roles: ['admin', 'reader'] }, resource_access: {} };
    const error = refusal(() => principalFromClaims(generic, psc));
    expect(error).toMatchObject({ code: 'token-missing-role' });
    expect(error.message).toMatch(/"realm_access.roles" or "resource_access.astreinte.roles" claim with one of: radiologue, teleradiologue/);
  });

  it('refuses several known roles unless a precedence is configured', () => {
    const both = { ...pscToken, realm_access: { roles: ['radiologue', 'coordonnateur'] } };
    expect(refusal(() => principalFromClaims(both, psc))).toMatchObject({ code: 'token-ambiguous-role' });
    const withPrecedence = { ...psc, rolePrecedence: mapping({ OIDC_ROLE_PRECEDENCE: 'expert, reader' }).rolePrecedence };
    expect(principalFromClaims(both, withPrecedence).role).toBe('reader');
    const coordinatorFirst = { ...psc, rolePrecedence: mapping({ OIDC_ROLE_PRECEDENCE: 'coordinator,reader' }).rolePrecedence };
    expect(principalFromClaims(both, coordinatorFirst).role).toBe('coordinator');
    const unrelated = { ...psc, rolePrecedence: mapping({ OIDC_ROLE_PRECEDENCE: 'admin' }).rolePrecedence };
    const error = refusal(() => principalFromClaims(both, unrelated));
    expect(error).toMatchObject({ code: 'token-ambiguous-role' });
    expect(error.message).toMatch(/OIDC_ROLE_PRECEDENCE/);
  });

  it('takes the user from another claim, refuses a claim with several different values', () => {
    const byUsername = mapping({ OIDC_CLAIM_USER: 'preferred_username', OIDC_CLAIM_ROLES: 'realm_access.roles', OIDC_CLAIM_RPPS: 'SubjectNameID', OIDC_ROLE_MAP: 'radiologue=reader' });
    expect(principalFromClaims(pscToken, byUsername).userId).toBe('899700218896');
    const twoSites = {
      ...pscToken,
      SubjectRefPro: { exercices: [{ activities: [{ ancienIdentifiantDeLaStructure: '310780010' }, { ancienIdentifiantDeLaStructure: '330781196' }] }] },
    };
    expect(refusal(() => principalFromClaims(twoSites, psc))).toMatchObject({ code: 'token-ambiguous-claim' });
    const sameSiteTwice = {
      ...pscToken,
      SubjectRefPro: { exercices: [{ activities: [{ ancienIdentifiantDeLaStructure: '310780010' }, { ancienIdentifiantDeLaStructure: '310780010' }] }] },
    };
    expect(principalFromClaims(sameSiteTwice, psc).site).toBe('310780010');
  });

  it('refuses (403) a reader whose RPPS claim holds another kind of identifier, naming the claim, not the value', () => {
    const adeli = { ...pscToken, SubjectNameID: '0123456789' };
    const error = refusal(() => principalFromClaims(adeli, psc));
    expect(error).toMatchObject({ status: 403, code: 'token-bad-rpps' });
    expect(error.message).toMatch(/SubjectNameID/);
    expect(error.message).not.toMatch(/0123456789/);
  });

});

describe('parseClaimsMapping refusals', () => {
  it('names the variable and what to write', () => {
    const parsed = parseClaimsMapping({
      OIDC_CLAIM_USER: 'has space',
      OIDC_CLAIM_ROLES: 'realm_access.roles,,.roles',
      OIDC_ROLE_MAP: 'radiologue=reader,radiologue=admin,chef=boss,lonely,a=b=c',
      OIDC_ROLE_PRECEDENCE: 'reader,reader,superuser',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const messages = parsed.problems.map((p) => `${p.variable}: ${p.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^OIDC_CLAIM_USER: must be a claim name or a dotted path/),
      expect.stringMatching(/^OIDC_CLAIM_ROLES: has an empty entry/),
      expect.stringMatching(/^OIDC_CLAIM_ROLES: ".roles" has an empty segment/),
      expect.stringMatching(/^OIDC_ROLE_MAP: "radiologue" is mapped twice, to reader and to admin/),
      expect.stringMatching(/^OIDC_ROLE_MAP: "chef=boss": boss is not an Astreinte role; use one of sender, reader/),
      expect.stringMatching(/^OIDC_ROLE_MAP: "lonely" is not name=role/),
      expect.stringMatching(/^OIDC_ROLE_MAP: "a=b=c" is not name=role/),
      expect.stringMatching(/^OIDC_ROLE_PRECEDENCE: reader is listed twice/),
      expect.stringMatching(/^OIDC_ROLE_PRECEDENCE: "superuser" is not an Astreinte role/),
    ]);
  });

  it('stops start-up through loadSettings, and refuses a mapping without an OIDC provider', () => {
    const oidc = { OIDC_ISSUER: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet', OIDC_JWKS_URL: 'https://idp.example.fr/certs', OIDC_AUDIENCE: 'astreinte', OIDC_CLIENT_ID: 'astreinte-web' };
    expect(() => loadSettings({ ...oidc, OIDC_ROLE_MAP: 'radiologue=radiologist' })).toThrow(ConfigurationError);
    expect(() => loadSettings({ ...oidc, OIDC_ROLE_MAP: 'radiologue=radiologist' })).toThrow(/OIDC_ROLE_MAP="radiologue=radiologist": "radiologue=radiologist": radiologist is not an Astreinte role/);
    expect(() => loadSettings({ OIDC_CLAIM_RPPS: 'SubjectNameID' })).toThrow(/OIDC_CLAIM_RPPS maps the claims of an OpenID Connect provider's tokens: set OIDC_ISSUER/);
    const settings = loadSettings({ ...oidc, OIDC_CLAIM_RPPS: 'SubjectNameID', OIDC_ROLE_MAP: 'radiologue=reader', OIDC_ROLE_PRECEDENCE: 'reader' });
    expect(settings.auth).toMatchObject({ kind: 'oidc', claims: { rpps: 'SubjectNameID', user: 'sub', rolePrecedence: ['reader'] } });
    expect(settings.auth.kind === 'oidc' && settings.auth.claims?.roleMap?.get('radiologue')).toBe('reader');
  });
});
