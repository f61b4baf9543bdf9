import { t, type MessageKey } from './i18n.ts';
import type { OidcFailure, OidcSignInError } from './oidc-sign-in.ts';

const WORDS: Record<OidcFailure, MessageKey> = {
  'provider-unreachable': 'oidcProviderUnreachable',
  'no-pending-sign-in': 'oidcNoPendingSignIn',
  'state-mismatch': 'oidcStateMismatch',
  'provider-refused': 'oidcProviderRefused',
  'bad-response': 'oidcBadResponse',
  'token-refused': 'oidcTokenRefused',
  'gateway-refused': 'oidcGatewayRefused',
};

/** A failed OpenID Connect sign-in in the user's words, with what the provider or gateway said when it helps. */
export function oidcFailureText(error: OidcSignInError): string {
  const words = t(WORDS[error.reason]);
  // A forged or stale answer is told plainly: its details would only help whoever forged it.
  if (error.reason === 'state-mismatch' || error.reason === 'no-pending-sign-in' || !error.detail) return words;
  return `${words} (${error.detail})`;
}
