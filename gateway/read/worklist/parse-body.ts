import express, { type RequestHandler } from 'express';
import type { z } from 'zod';
import { BadRequest } from '../../http/problem.ts';

const parseJson = express.json({ limit: '64kb' });

/**
 * JSON bodies of the worklist API are small: a reason, a question, an outcome. Malformed JSON is the
 * caller's mistake (400), not a server error.
 */
export const jsonBody: RequestHandler = (req, res, next) => {
  parseJson(req, res, (error?: unknown) => {
    if ((error as { type?: string } | undefined)?.type === 'entity.parse.failed') {
      next(new BadRequest('The request body is not valid JSON; send a JSON object such as {"reason": "..."}.', 'invalid-json'));
      return;
    }
    next(error);
  });
};

/** The validated body, or a 400 naming each field to fix. A missing body reads as `{}`. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, action: string): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : 'body';
    return `${field}: ${issue.message}`;
  });
  throw new BadRequest(`Cannot ${action}: ${problems.join('; ')}.`, 'invalid-body');
}
