import type { Request } from 'express';

export const DICOMWEB_PATH = '/dicomweb';

/**
 * The DICOMweb root URL as the client sees it, used for RetrieveURL and BulkDataURI. ASTREINTE_PUBLIC_URL wins;
 * otherwise the request's own host (X-Forwarded-* only when TRUST_PROXY=true, set through express's trust proxy),
 * so URIs never point at an internal host name behind a reverse proxy.
 */
export function dicomwebRootOf(req: Request): string {
  const publicUrl = req.app.locals.publicUrl as string | undefined;
  if (publicUrl) return `${publicUrl}${DICOMWEB_PATH}`;
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${DICOMWEB_PATH}`;
}
