import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Counts the read requests (QIDO, WADO, metadata, frames) being answered, so that bulk ingest can give way to
 * them: a radiologist scrolling through a series waits for each frame, a sending site does not notice that its
 * upload is read a little slower.
 */
export class ReadActivity {
  private inFlight = 0;

  /** Middleware: counts the request from its start until its response is finished or abandoned. */
  track(): RequestHandler {
    return (_req: Request, res: Response, next: NextFunction) => {
      this.inFlight += 1;
      res.once('close', () => {
        this.inFlight -= 1;
      });
      next();
    };
  }

  /** True while at least one read is being answered. */
  readonly busy = (): boolean => this.inFlight > 0;
}
