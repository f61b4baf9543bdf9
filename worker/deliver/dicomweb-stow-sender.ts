/**
 * STOW-RS of the report's objects to the site's PACS (PS3.18 10.5): one multipart/related request, success
 * only when the answer is 200 (every instance stored); 202/409 list the refusals, which are reported.
 */
import { randomUUID } from 'node:crypto';
import type { DestinationAuth } from '../../config/region/region-config.ts';

export class DeliveryConfigurationError extends Error {}

export function authorizationHeader(auth: DestinationAuth, env: NodeJS.ProcessEnv = process.env): string | undefined {
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'bearer': {
      const token = env[auth.tokenEnv];
      if (!token) throw new DeliveryConfigurationError(`the environment variable ${auth.tokenEnv} (token of this destination) is not set on the delivering machine`);
      return `Bearer ${token}`;
    }
    case 'basic': {
      const password = env[auth.passwordEnv];
      if (password === undefined) throw new DeliveryConfigurationError(`the environment variable ${auth.passwordEnv} (password of this destination) is not set on the delivering machine`);
      return `Basic ${Buffer.from(`${auth.username}:${password}`).toString('base64')}`;
    }
  }
}

export async function stowInstances(url: string, auth: DestinationAuth, instances: readonly Buffer[], timeoutMs = 60_000): Promise<string> {
  const boundary = `astreinte-${randomUUID()}`;
  const parts: Buffer[] = [];
  for (const bytes of instances) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), bytes, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const authorization = authorizationHeader(auth);
  let response: Response;
  try {
    response = await fetch(`${url}/studies`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        accept: 'application/dicom+json',
        ...(authorization ? { authorization } : {}),
      },
      body: Buffer.concat(parts),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // fetch says only "fetch failed": why (getaddrinfo ENOTFOUND, connect ECONNREFUSED…) is its cause, which the
    // coordinator and the report panel need.
    const cause = (error as Error).cause;
    throw new Error(`STOW-RS to ${url} failed: ${cause instanceof Error ? cause.message : (error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`STOW-RS to ${url} answered ${response.status}: ${text.slice(0, 500) || response.statusText}`);
  }
  return `STOW-RS to ${url}: 200, ${instances.length} instances stored`;
}
