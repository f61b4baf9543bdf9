/**
 * How the web app signs people in, asked before it shows its sign-in page (`GET /api/sign-in/config`, public):
 * on the embedded default, the list of the region's people (gateway/auth/sign-in-routes.ts); with an OpenID
 * Connect provider, the authorization code flow with PKCE at that provider, as the public client OIDC_CLIENT_ID.
 * The answer holds no secret: a public client has none, and the issuer and client id are in every authorization
 * request the browser makes anyway.
 */
import type { Request, RequestHandler } from 'express';
import type { Settings } from '../../config/settings.ts';

/** Where the provider sends the browser back with the code, under the app's origin. */
export const SIGN_IN_CALLBACK_PATH = '/sign-in/callback';
/** Where the provider sends the browser after signing out (RP-initiated logout). */
export const SIGN_OUT_RETURN_PATH = '/sign-in';

export type SignInConfig =
  | { kind: 'embedded' }
  | {
      kind: 'oidc';
      issuer: string;
      clientId: string;
      scopes: readonly string[];
      redirectUri: string;
      postLogoutRedirectUri: string;
    };

export function signInConfigHandler(auth: Settings['auth'], publicUrl: string | undefined): RequestHandler {
  return (req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json(signInConfig(auth, publicUrl ?? originOf(req)));
  };
}

export function signInConfig(auth: Settings['auth'], origin: string): SignInConfig {
  if (auth.kind === 'embedded') return { kind: 'embedded' };
  return {
    kind: 'oidc',
    issuer: auth.issuer,
    clientId: auth.webClient.clientId,
    scopes: auth.webClient.scopes,
    redirectUri: `${origin}${SIGN_IN_CALLBACK_PATH}`,
    postLogoutRedirectUri: `${origin}${SIGN_OUT_RETURN_PATH}`,
  };
}

/** The origin the browser used (behind a proxy with TRUST_PROXY, from X-Forwarded-Proto and the Host it kept). */
function originOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}
