import { Unauthorized } from '../http/problem.ts';

/**
 * 401 for a token that was sent but cannot be accepted (RFC 6750 3.1 `invalid_token`). The message
 * says why in terms the user can act on; it is about the token only, never about what it was used for.
 */
export class InvalidToken extends Unauthorized {
  constructor(message: string, code: string) {
    super(message, code);
    const description = message.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, ' ');
    this.headers['WWW-Authenticate'] =
      `Bearer realm="astreinte", error="invalid_token", error_description="${description}"`;
  }
}
