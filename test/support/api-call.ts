/** One call to the gateway's JSON API with a bearer token: the status, the text and, when JSON, the parsed body. */
export async function apiCall(origin: string, token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(`${origin}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}
