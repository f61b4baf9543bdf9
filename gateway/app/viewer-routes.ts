/**
 * The reading web app (viewer/, built by scripts/build-viewer.mjs into viewer/dist) on the gateway's own origin:
 * its pages at their stable URLs (`/`, `/sign-in`, `/sign-in/callback`, `/studies/{StudyInstanceUID}`, `/dashboard`: one HTML shell, the app picks
 * the page) and its files under `/assets/` (JavaScript, CSS, the decode worker and the codecs' WebAssembly).
 * None of it holds patient data: it is public, and the app then calls the APIs with the user's token.
 *
 * Files are sent as the build compressed them (brotli, else gzip) when the browser accepts it: no compression
 * per request. Hashed asset names never change content, so they are cached for a year; the HTML shell is
 * revalidated every time, so a new build is picked up at the next page load.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import { ServiceUnavailable } from '../http/problem.ts';
import { CONTENT_SECURITY_POLICY } from '../http/security-headers.ts';

/**
 * The app's policy: the gateway's, plus `'wasm-unsafe-eval'` (the image decoders are WebAssembly, compiled in the
 * decode worker, whose script gets this header too) and inline style attributes (Cornerstone's annotation tools
 * style their SVG text boxes with a `style` attribute). Still no inline or foreign script.
 */
export const VIEWER_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'").replace(
  "style-src 'self'",
  "style-src 'self'; style-src-attr 'unsafe-inline'",
);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** viewer/dist of this checkout: the directory holding package.json, above this module (sources or .build/out). */
export function defaultViewerDir(from: string = import.meta.dirname): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve('viewer/dist');
    dir = parent;
  }
  return path.join(dir, 'viewer', 'dist');
}

export interface ViewerHandlers {
  /** GET /, /sign-in, /sign-in/callback, /studies/{study}, /dashboard: the app's HTML shell. */
  page: RequestHandler;
  /** GET /assets/{path}: the built files. */
  asset: RequestHandler;
}

export interface ViewerOptions {
  /**
   * The OpenID Connect provider's origin: the sign-in pages fetch its discovery document and token endpoint
   * (authorization code with PKCE), so the app's `connect-src` names it. Absent on the embedded default.
   */
  identityProviderOrigin?: string;
}

/** The app's policy, with the identity provider's origin allowed for fetch when there is one. */
export function viewerContentSecurityPolicy(options: ViewerOptions = {}): string {
  const provider = options.identityProviderOrigin;
  return provider === undefined ? VIEWER_CONTENT_SECURITY_POLICY : VIEWER_CONTENT_SECURITY_POLICY.replace("connect-src 'self'", `connect-src 'self' ${provider}`);
}

export function viewerHandlers(viewerDir: string = defaultViewerDir(), options: ViewerOptions = {}): ViewerHandlers {
  const assetsDir = path.join(viewerDir, 'assets');
  const policy = viewerContentSecurityPolicy(options);
  return {
    page: (req, res) => {
      if (!existsSync(path.join(viewerDir, 'index.html'))) {
        throw new ServiceUnavailable('The reading web app is not built on this server: run `npm run build` (or `npm ci`), then reload.', 'viewer-not-built');
      }
      sendFile(req, res, viewerDir, 'index.html', 'no-cache', policy);
    },
    asset: (req, res) => {
      const segments = (req.params as { path: string[] }).path;
      sendFile(req, res, assetsDir, segments.join('/'), 'public, max-age=31536000, immutable', policy);
    },
  };
}

function sendFile(req: Request, res: Response, root: string, relative: string, cacheControl: string, policy: string): void {
  const file = path.normalize(relative);
  if (file.startsWith('..') || path.isAbsolute(file) || file.split(path.sep).some((part) => part.startsWith('.'))) {
    res.status(404).type('text/plain').send('Not found.');
    return;
  }
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  const accepted = String(req.headers['accept-encoding'] ?? '');
  const encoding = (['br', 'gzip'] as const).find((e) => new RegExp(`\\b${e}\\b(?!;q=0(\\.0*)?\\b)`).test(accepted) && isFile(path.join(root, `${file}.${e === 'br' ? 'br' : 'gz'}`)));
  res.set('Content-Security-Policy', policy);
  res.set('Cache-Control', cacheControl);
  res.set('Vary', 'Accept-Encoding');
  res.type(type);
  if (encoding) res.set('Content-Encoding', encoding);
  res.sendFile(encoding ? `${file}.${encoding === 'br' ? 'br' : 'gz'}` : file, { root, dotfiles: 'deny', cacheControl: false, lastModified: true }, (error) => {
    if (!error || res.headersSent) return;
    res.removeHeader('Content-Encoding');
    res.status(404).type('text/plain').send('Not found.');
  });
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
