/**
 * Signing in at the OpenID Connect provider (Pro Santé Connect): authorization code flow with PKCE (S256), `state`
 * and `nonce`, as a public client (no secret), with oauth4webapi doing the protocol checks. The code comes back
 * in the URL's fragment (`response_mode=fragment`), so it never reaches the gateway's or a proxy's logs; the
 * callback page takes it and cleans the address bar before anything else. The access token (audience: the
 * gateway) goes to the tab's sessionStorage like the embedded session; no token is ever put in a URL, sign-out
 * at the provider included (client_id and the return address, no `id_token_hint`).
 */
import * as oauth from 'oauth4webapi';
import { problemDetail } from './api.ts';
import type { Session } from './session.ts';

/** What `GET /api/sign-in/config` answers under OIDC (gateway/auth/sign-in-config.ts). */
export interface OidcSignInConfig {
  kind: 'oidc';
  issuer: string;
  clientId: string;
  scopes: readonly string[];
  redirectUri: string;
  postLogoutRedirectUri: string;
}

/** Why a sign-in did not complete; the page words each reason for the user. */
export type OidcFailure =
  | 'provider-unreachable'
  | 'no-pending-sign-in'
  | 'state-mismatch'
  | 'provider-refused'
  | 'bad-response'
  | 'token-refused'
  | 'gateway-refused';

export class OidcSignInError extends Error {
  constructor(
    readonly reason: OidcFailure,
    /** What the provider or the gateway said, when they said something. */
    readonly detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = 'OidcSignInError';
  }
}

/** The request in flight, kept in this tab between leaving for the provider and coming back. */
interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
}

const PENDING_KEY = 'astreinte.oidc.pending';

/** Discovery, PKCE, state and nonce, then the browser leaves for the provider's authorization endpoint. */
export async function startOidcSignIn(config: OidcSignInConfig): Promise<void> {
  const as = await discover(config);
  const pending: PendingSignIn = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    codeVerifier: oauth.generateRandomCodeVerifier(),
  };
  if (!as.authorization_endpoint) throw new OidcSignInError('bad-response', 'no authorization_endpoint in the discovery document');
  const authorization = new URL(as.authorization_endpoint);
  authorization.search = new URLSearchParams({
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    response_type: 'code',
    response_mode: 'fragment',
    scope: config.scopes.join(' '),
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.codeVerifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
  }).toString();
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  location.assign(authorization.href);
}

/**
 * The callback's parameters, taken from the address (fragment, else query) and removed from it at once: the
 * code is single-use, and a reload, a bookmark or a shared screen must not carry it.
 */
export function takeCallbackParameters(): URLSearchParams {
  const fragment = location.hash.replace(/^#/, '');
  const parameters = new URLSearchParams(fragment !== '' ? fragment : location.search);
  history.replaceState(null, '', location.pathname);
  return parameters;
}

/** Checks the answer against this tab's pending request, exchanges the code and asks the gateway who that is. */
export async function completeOidcSignIn(config: OidcSignInConfig, parameters: URLSearchParams): Promise<Session> {
  const pending = takePending();
  if (!pending) throw new OidcSignInError('no-pending-sign-in');
  // Compared here too (oauth4webapi does it again) so that a forged or replayed answer gets its own words.
  if (parameters.get('state') !== pending.state) throw new OidcSignInError('state-mismatch');
  const as = await discover(config);
  const client: oauth.Client = { client_id: config.clientId };
  let callback: URLSearchParams;
  try {
    callback = oauth.validateAuthResponse(as, client, parameters, pending.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) throw new OidcSignInError('provider-refused', error.error_description ?? error.error);
    throw new OidcSignInError('bad-response', (error as Error).message);
  }
  let tokens: oauth.TokenEndpointResponse;
  try {
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), callback, config.redirectUri, pending.codeVerifier, options(config));
    tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) throw new OidcSignInError('token-refused', error.error_description ?? error.error);
    if (error instanceof TypeError) throw new OidcSignInError('provider-unreachable', error.message);
    throw new OidcSignInError('bad-response', (error as Error).message);
  }
  const me = await fetch('/api/me', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  if (!me.ok) throw new OidcSignInError('gateway-refused', await problemDetail(me));
  const who = (await me.json()) as { role: string; userId: string; rpps?: string; name: string };
  return {
    token: tokens.access_token,
    role: who.role,
    // The worklist names assignees by RPPS: the embedded session's `user` is the RPPS for readers too.
    user: who.rpps ?? who.userId,
    name: who.name,
    signOutUrl: signOutUrl(as, config),
  };
}

async function discover(config: OidcSignInConfig): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(config.issuer);
  try {
    return await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options(config) }));
  } catch (error) {
    if (error instanceof TypeError) throw new OidcSignInError('provider-unreachable', error.message);
    throw new OidcSignInError('bad-response', (error as Error).message);
  }
}

/** Plain HTTP only to a provider on this very machine (development, tests); a real provider is HTTPS. */
function options(config: OidcSignInConfig): { [oauth.allowInsecureRequests]?: boolean } {
  const issuer = new URL(config.issuer);
  const loopback = issuer.hostname === 'localhost' || issuer.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(issuer.hostname);
  return issuer.protocol === 'http:' && loopback ? { [oauth.allowInsecureRequests]: true } : {};
}

/** RP-initiated logout with the client id, never the ID token (it would put a token in a URL). */
function signOutUrl(as: oauth.AuthorizationServer, config: OidcSignInConfig): string | undefined {
  if (!as.end_session_endpoint) return undefined;
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('post_logout_redirect_uri', config.postLogoutRedirectUri);
  return url.href;
}

/** The pending request, forgotten as it is read: an answer is checked against it once. */
function takePending(): PendingSignIn | undefined {
  const text = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!text) return undefined;
  try {
    const pending = JSON.parse(text) as Partial<PendingSignIn>;
    return typeof pending.state === 'string' && typeof pending.nonce === 'string' && typeof pending.codeVerifier === 'string'
      ? { state: pending.state, nonce: pending.nonce, codeVerifier: pending.codeVerifier }
      : undefined;
  } catch {
    return undefined;
  }
}
