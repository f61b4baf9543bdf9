import { ApiError, problemDetail } from './api.ts';
import type { OidcSignInConfig } from './oidc-sign-in.ts';

/** How this installation signs people in (`GET /api/sign-in/config`, public). */
export type SignInConfig = { kind: 'embedded' } | OidcSignInConfig;

export async function loadSignInConfig(): Promise<SignInConfig> {
  const res = await fetch('/api/sign-in/config');
  if (!res.ok) throw new ApiError(res.status, await problemDetail(res));
  return (await res.json()) as SignInConfig;
}
