/**
 * A real OpenID Connect provider (oidc-provider 8, panva) for the web sign-in tests, run as its own process by
 * test/support/oidc-provider.ts: one public client using PKCE (S256 only), the provider's development login and
 * consent pages, JWT access tokens for one resource whose audience is the gateway's OIDC_AUDIENCE, carrying the
 * claims Pro Santé Connect brokered by Keycloak would (`realm_access.roles`, `SubjectNameID` = `8` + RPPS).
 * Configuration: the JSON in OIDC_TEST_PROVIDER. Prints `ready` on its standard output when it listens.
 */
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

export interface TestProviderConfig {
  port: number;
  issuer: string;
  clientId: string;
  /** The gateway's origin: CORS for the token endpoint, and the base of the client's redirect URIs. */
  gatewayOrigin: string;
  /** The resource indicator access tokens are issued for, and their `aud`. */
  resource: string;
  audience: string;
  /** The scope of that resource the client asks for. */
  resourceScope: string;
  /** Login name -> the person. */
  accounts: Record<string, { name: string; rpps: string; roles: string[] }>;
}

interface Context {
  oidc: { client?: { clientId: string } };
}
interface IssuedToken {
  accountId?: string;
}

const config = JSON.parse(process.env.OIDC_TEST_PROVIDER ?? '') as TestProviderConfig;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: config.clientId,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [`${config.gatewayOrigin}/sign-in/callback`],
      post_logout_redirect_uris: [`${config.gatewayOrigin}/sign-in`],
    },
  ],
  clientBasedCORS: (_ctx: Context, origin: string) => origin === config.gatewayOrigin,
  pkce: { required: () => true, methods: ['S256'] },
  jwks: { keys: [signingKey] },
  cookies: { keys: ['astreinte-test-provider-cookie-key'] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: Context, resource: string) => {
        if (resource !== config.resource) throw new errors.InvalidTarget();
        return { scope: config.resourceScope, audience: config.audience, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  findAccount: (_ctx: Context, id: string) => {
    const person = config.accounts[id];
    if (!person) return undefined;
    return { accountId: id, claims: () => ({ sub: id, name: person.name }) };
  },
  extraTokenClaims: (_ctx: Context, token: IssuedToken) => {
    const person = token.accountId === undefined ? undefined : config.accounts[token.accountId];
    return person ? { realm_access: { roles: person.roles }, SubjectNameID: `8${person.rpps}` } : undefined;
  },
});

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
