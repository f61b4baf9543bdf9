// OIDC_CLIENT_ID and OIDC_SCOPES: the web app's sign-in at the OpenID Connect provider (authorization code + PKCE).
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../core/configuration-error.ts';
import { loadSettings } from '../../../config/settings.ts';
import { signInConfig } from '../../../gateway/auth/sign-in-config.ts';

const PROVIDER = {
  OIDC_ISSUER: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet',
  OIDC_JWKS_URL: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet/protocol/openid-connect/certs',
  OIDC_AUDIENCE: 'astreinte',
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('the web sign-in settings', () => {
  it('need the public client id whenever an OpenID Connect provider is configured', () => {
    expect(problemsOf(PROVIDER)).toEqual([expect.stringMatching(/^OIDC_CLIENT_ID: is required with OpenID Connect: .*redirect URI <public URL>\/sign-in\/callback/)]);
  });

  it('ask for openid alone by default, or the scopes given (deduplicated)', () => {
    const settings = loadSettings({ ...PROVIDER, OIDC_CLIENT_ID: 'astreinte-web' });
    expect(settings.auth).toMatchObject({ kind: 'oidc', webClient: { clientId: 'astreinte-web', scopes: ['openid'] } });
    const withScopes = loadSettings({ ...PROVIDER, OIDC_CLIENT_ID: 'astreinte-web', OIDC_SCOPES: '  openid  scope_all openid ' });
    expect(withScopes.auth).toMatchObject({ webClient: { scopes: ['openid', 'scope_all'] } });
  });

  it('refuse a client id with spaces, scopes without openid or with characters no scope has', () => {
    expect(problemsOf({ ...PROVIDER, OIDC_CLIENT_ID: 'astreinte web' })).toEqual([
      'OIDC_CLIENT_ID="astreinte web": must be the web app\'s client id at the provider: 1 to 200 printable characters, no spaces',
    ]);
    expect(problemsOf({ ...PROVIDER, OIDC_CLIENT_ID: 'astreinte-web', OIDC_SCOPES: 'profile email' })).toEqual([
      'OIDC_SCOPES="profile email": must include openid (the sign-in is OpenID Connect), e.g. "openid scope_all"',
    ]);
    expect(problemsOf({ ...PROVIDER, OIDC_CLIENT_ID: 'astreinte-web', OIDC_SCOPES: 'openid "all"' })).toEqual([
      'OIDC_SCOPES="openid \\"all\\"": "\\"all\\"" is not a scope name; write scopes separated by spaces, e.g. "openid scope_all"',
    ]);
  });

  it('are refused without a provider', () => {
    expect(problemsOf({ OIDC_CLIENT_ID: 'astreinte-web', OIDC_SCOPES: 'openid' })).toEqual([
      expect.stringMatching(/^OIDC_CLIENT_ID="astreinte-web": OIDC_CLIENT_ID, OIDC_SCOPES describe the web app's sign-in at an OpenID Connect provider: set OIDC_ISSUER, OIDC_JWKS_URL and OIDC_AUDIENCE too/),
    ]);
  });

  it('give the web app the issuer, client id, scopes and the redirect URIs under its origin; the embedded default says so', () => {
    const settings = loadSettings({ ...PROVIDER, OIDC_CLIENT_ID: 'astreinte-web', OIDC_SCOPES: 'openid scope_all' });
    expect(signInConfig(settings.auth, 'https://pacs.region.example')).toEqual({
      kind: 'oidc',
      issuer: PROVIDER.OIDC_ISSUER,
      clientId: 'astreinte-web',
      scopes: ['openid', 'scope_all'],
      redirectUri: 'https://pacs.region.example/sign-in/callback',
      postLogoutRedirectUri: 'https://pacs.region.example/sign-in',
    });
    expect(signInConfig(loadSettings({}).auth, 'http://localhost:8080')).toEqual({ kind: 'embedded' });
  });
});
