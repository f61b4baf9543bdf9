import express from 'express';
import type { z } from 'zod';
import { BadRequest } from '../http/problem.ts';

/** JSON bodies of the worklist API are small: a reason, a question, an outcome. */
export const jsonBody = express.json({ limit: '64kb' });

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
