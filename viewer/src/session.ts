/**
 * The signed-in user's token, kept in this tab's sessionStorage (never in a URL, never in a cookie): closing the
 * tab or signing out forgets it.
 */
export interface Session {
  token: string;
  role: string;
  user: string;
  name: string;
  /** The identity provider's sign-out address (OpenID Connect), where signing out goes after forgetting the token. */
  signOutUrl?: string;
}

const KEY = 'astreinte.session';

export function currentSession(): Session | undefined {
  const text = sessionStorage.getItem(KEY);
  if (!text) return undefined;
  try {
    const session = JSON.parse(text) as Session;
    return typeof session.token === 'string' && !tokenExpired(session.token) ? session : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

function tokenExpired(token: string): boolean {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return typeof payload.exp === 'number' && payload.exp * 1000 < Date.now();
  } catch {
    return true;
  }
}
