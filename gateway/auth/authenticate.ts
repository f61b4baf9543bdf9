/**
 * Express middleware: `authenticate(verifier)` turns `Authorization: Bearer <token>` into
 * `res.locals.principal` (read it with `principalOf(res)`), `requireRole(...)` then limits a route to
 * some roles. Tokens are only taken from the Authorization header, never from the URL (`access_token`
 * query parameter): URLs end up in proxy and server logs. Mount `cors` before `authenticate` so that
 * preflight requests, which carry no token, are answered.
 */
import type { RequestHandler, Response } from 'express';
import { decodeJwt } from 'jose';
import { BadRequest, Forbidden, Unauthorized } from '../http/problem.ts';
import { InvalidToken } from './invalid-token.ts';
import type { Principal, Role } from '../../core/identity/roles.ts';
import type { TokenVerifier } from './token-verifier.ts';

export function authenticate(verifier: TokenVerifier): RequestHandler {
  return (req, res, next) => {
    if (typeof req.query === 'object' && req.query !== null && 'access_token' in req.query) {
      next(
        new BadRequest(
          'Tokens are not accepted in the URL (they would be written to logs); send the header "Authorization: Bearer <token>" instead.',
          'token-in-url',
        ),
      );
      return;
    }
    const header = req.get('authorization');
    if (header === undefined || header.trim() === '') {
      next(
        new Unauthorized(
          'This request needs a bearer token: send the header "Authorization: Bearer <token>" (from astreinte token or your identity provider).',
          'token-missing',
        ),
      );
      return;
    }
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match) {
      next(
        new InvalidToken('The Authorization header must be "Bearer " followed by the token, nothing else.', 'token-malformed'),
      );
      return;
    }
    verifier.verify(match[1]).then((principal) => {
      res.locals.principal = principal;
      // Verified above (exp is required): long-lived answers (the worklist stream) end when the token does.
      const exp = expiryOf(match[1]);
      if (exp !== undefined) res.locals.tokenExpiresAt = exp * 1000;
      next();
    }, next);
  };
}

/** The token's `exp` claim, or undefined when the verifier accepted a token that is not a JWT (test verifiers). */
function expiryOf(token: string): number | undefined {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** When the request's token expires (ms since the epoch); undefined before authenticate or without `exp`. */
export function tokenExpiresAt(res: Response): number | undefined {
  const at = res.locals.tokenExpiresAt as unknown;
  return typeof at === 'number' ? at : undefined;
}

/** The authenticated caller; a programming error (500) on a route mounted before `authenticate`. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf() called on a request that went through no authenticate() middleware');
  return principal;
}

/** Lets the request through only for the given roles (403 otherwise). */
export function requireRole(...roles: Role[]): RequestHandler {
  return (_req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) {
      next(new Unauthorized());
      return;
    }
    if (!roles.includes(principal.role)) {
      next(new Forbidden(`This needs the role ${roles.join(' or ')}; your token has the role ${principal.role}.`, 'role-not-allowed'));
      return;
    }
    next();
  };
}
