/**
 * Errors that carry the HTTP status meant for the user, in the spirit of Microsoft's dicom-server
 * exceptions. The message is written for the person at the other end (a radiographer at 3 a.m.):
 * what went wrong and what to do. It never contains patient data.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string = defaultCode(status),
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequest extends HttpProblem {
  constructor(message: string, code = 'bad-request') {
    super(400, message, code);
  }
}
export class Unauthorized extends HttpProblem {
  constructor(message = 'A valid bearer token is required.', code = 'unauthorized') {
    super(401, message, code, { 'WWW-Authenticate': 'Bearer realm="astreinte"' });
  }
}
export class Forbidden extends HttpProblem {
  constructor(message = 'Your role does not allow this.', code = 'forbidden') {
    super(403, message, code);
  }
}
export class NotFound extends HttpProblem {
  constructor(message: string, code = 'not-found') {
    super(404, message, code);
  }
}
export class NotAcceptable extends HttpProblem {
  constructor(message: string, code = 'not-acceptable') {
    super(406, message, code);
  }
}
export class Conflict extends HttpProblem {
  constructor(message: string, code = 'conflict') {
    super(409, message, code);
  }
}
export class PayloadTooLarge extends HttpProblem {
  constructor(message: string, code = 'payload-too-large') {
    super(413, message, code);
  }
}
export class RangeNotSatisfiable extends HttpProblem {
  constructor(message: string, size: number) {
    super(416, message, 'range-not-satisfiable', { 'Content-Range': `bytes */${size}` });
  }
}
export class UnsupportedMediaType extends HttpProblem {
  constructor(message: string, code = 'unsupported-media-type') {
    super(415, message, code);
  }
}
export class ServiceUnavailable extends HttpProblem {
  constructor(message: string, code = 'unavailable') {
    super(503, message, code);
  }
}

function defaultCode(status: number): string {
  return status >= 500 ? 'server-error' : 'error';
}
