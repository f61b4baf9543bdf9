/**
 * CORS for browser viewers (OHIF, Cornerstone) served from another origin. Every response, errors
 * included, carries `Vary: Origin` and, for an allowed origin, Access-Control-Allow-Origin and
 * Access-Control-Expose-Headers: the headers are set before any route runs, so a 401, 404 or 500 reaches
 * the page as that error instead of an opaque "CORS failure". Preflights (OPTIONS with an Origin and
 * Access-Control-Request-Method) are answered here with 204, before authentication: they carry no token.
 *
 * No Access-Control-Allow-Credentials: the gateway authenticates with bearer tokens in the Authorization
 * header, not cookies, which is also why `*` may be used as the allowed origin.
 */
import type { RequestHandler } from 'express';
import { trimEndChars } from '../../core/text/trim-end.ts';
import { Forbidden } from './problem.ts';

export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'] as const;
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Range', 'If-None-Match'] as const;
export const CORS_EXPOSED_HEADERS = [
  'Content-Range',
  'Content-Length',
  'Content-Type',
  'Content-Location',
  'Warning',
  'Location',
  'Accept-Ranges',
  'ETag',
  // A viewer told to slow down (429) must be able to read when to try again.
  'Retry-After',
] as const;
/** How long a browser may reuse a preflight answer (Chromium caps it at 2 h). */
export const CORS_MAX_AGE_SECONDS = 7200;

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_ECHOED_HEADERS = 32;
/**
 * Longest Origin looked at: scheme, a host name of at most 253 characters and a port fit in far less. A longer
 * header is not an origin a browser sends, and is refused without being normalized.
 */
export const MAX_ORIGIN_LENGTH = 512;

/** `origins`: Settings.corsOrigins, `'*'` or exact origins such as `https://viewer.example.fr`. */
export function cors(origins: readonly string[] | '*'): RequestHandler {
  const anyOrigin = origins === '*' || origins.includes('*');
  const allowed = new Set(anyOrigin ? [] : (origins as readonly string[]).map(normalizeOrigin));
  const exposed = CORS_EXPOSED_HEADERS.join(', ');

  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    const originAllowed =
      origin !== undefined && (anyOrigin || (origin.length <= MAX_ORIGIN_LENGTH && allowed.has(normalizeOrigin(origin))));
    if (originAllowed) {
      res.set('Access-Control-Allow-Origin', anyOrigin ? '*' : origin);
      res.set('Access-Control-Expose-Headers', exposed);
    }
    const isPreflight = req.method === 'OPTIONS' && origin !== undefined && req.get('access-control-request-method') !== undefined;
    if (!isPreflight) {
      next();
      return;
    }
    if (!originAllowed) {
      next(
        new Forbidden(
          `Web pages from ${origin.slice(0, 200)} may not call this gateway: add that origin to CORS_ORIGINS.`,
          'cors-origin-not-allowed',
        ),
      );
      return;
    }
    res.vary('Access-Control-Request-Headers');
    res.set('Access-Control-Allow-Methods', CORS_ALLOWED_METHODS.join(', '));
    res.set('Access-Control-Allow-Headers', allowHeaders(req.get('access-control-request-headers')));
    res.set('Access-Control-Max-Age', String(CORS_MAX_AGE_SECONDS));
    res.status(204).end();
  };
}

/** The fixed list plus the (well-formed) headers the browser asks for, without duplicates. */
function allowHeaders(requested: string | undefined): string {
  const names: string[] = [...CORS_ALLOWED_HEADERS];
  const seen = new Set(names.map((n) => n.toLowerCase()));
  for (const raw of (requested ?? '').split(',').slice(0, MAX_ECHOED_HEADERS)) {
    const name = raw.trim();
    if (HEADER_NAME.test(name) && !seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      names.push(name);
    }
  }
  return names.join(', ');
}

function normalizeOrigin(origin: string): string {
  return trimEndChars(origin.trim(), '/').toLowerCase();
}
