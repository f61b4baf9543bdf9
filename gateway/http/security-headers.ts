/**
 * Security headers for every response (`securityHeaders()`, mounted first) and `noStore()` for responses
 * that carry patient data.
 *
 * The Content-Security-Policy allows no inline script or style and no eval: the viewer ships its code as
 * files. `blob:` is allowed for images and workers because image decoders (Cornerstone's codec workers)
 * run from blob URLs and rendered frames are shown through them.
 *
 * Cross-Origin-Resource-Policy is `cross-origin` by default, deliberately: the DICOMweb API exists to be
 * read by viewers served from other origins (OHIF on its own host). Such reads are CORS requests, but a
 * viewer that isolates itself (COEP `require-corp`, needed for SharedArrayBuffer in multi-threaded
 * decoders) also loads resources in no-cors mode (an `<img>` of a rendered frame, a worker script), and
 * `same-site` or `same-origin` would make the browser drop those answers. CORP protects resources that a
 * browser would fetch with ambient credentials (cookies); this gateway authenticates only with the
 * Authorization header, which a no-cors request from a foreign page cannot carry, so such a request gets a
 * 401 and nothing else. A deployment whose viewer is on the gateway's own origin can pass `same-origin`.
 */
import type { RequestHandler } from 'express';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** No powerful browser feature is used by the web app. */
export const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()';

/** One year; only sent on HTTPS (a browser ignores it on HTTP, and it must not pin a plain-HTTP test setup). */
export const HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600;

export type CrossOriginResourcePolicy = 'same-origin' | 'same-site' | 'cross-origin';

export interface SecurityHeadersOptions {
  /** Default `cross-origin`: see the module comment. */
  crossOriginResourcePolicy?: CrossOriginResourcePolicy;
  /** Default HSTS_MAX_AGE_SECONDS; 0 sends no Strict-Transport-Security. */
  hstsMaxAgeSeconds?: number;
}

/**
 * Sets the security headers on every response, errors included; mount it first. Strict-Transport-Security
 * is sent only when the request came over HTTPS (`req.secure`: the socket, or X-Forwarded-Proto when
 * TRUST_PROXY is on).
 */
export function securityHeaders(options: SecurityHeadersOptions = {}): RequestHandler {
  const hstsMaxAge = options.hstsMaxAgeSeconds ?? HSTS_MAX_AGE_SECONDS;
  const fixed: Record<string, string> = {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': options.crossOriginResourcePolicy ?? 'cross-origin',
    'Permissions-Policy': PERMISSIONS_POLICY,
  };
  const hsts = hstsMaxAge > 0 ? `max-age=${hstsMaxAge}` : undefined;
  return (req, res, next) => {
    res.set(fixed);
    if (hsts && req.secure) res.set('Strict-Transport-Security', hsts);
    next();
  };
}

/**
 * For responses that carry patient data (images, metadata, search results, worklists, reports): no cache,
 * shared or private, may keep a copy.
 */
export function noStore(): RequestHandler {
  return (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    res.set('Pragma', 'no-cache');
    next();
  };
}
