import { clearSession, currentSession } from './session.ts';

export const DICOMWEB = `${location.origin}/dicomweb`;

/** An answer the gateway refused, with the problem document's words for the user. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** fetch with the session's bearer token; a 401 ends the session and goes back to the sign-in page. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const session = currentSession();
  const headers = new Headers(init.headers);
  if (session) headers.set('Authorization', `Bearer ${session.token}`);
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401 && session) {
    clearSession();
    location.assign('/sign-in');
  }
  return res;
}

export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await apiFetch(path, init);
  if (!res.ok) throw new ApiError(res.status, await problemDetail(res));
  return (await res.json()) as T;
}

export async function problemDetail(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { detail?: string };
    return body.detail ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** An image the gateway serves behind the token, as an object URL for an <img> (which cannot send headers). */
export async function authorizedImageUrl(path: string): Promise<string | undefined> {
  try {
    const res = await apiFetch(path, { headers: { Accept: 'image/jpeg, image/png' } });
    if (!res.ok) return undefined;
    return URL.createObjectURL(await res.blob());
  } catch {
    return undefined;
  }
}
