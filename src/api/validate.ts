import type { z } from 'zod';
import { AppError } from '../errors.js';

/** Parses a request body (or query) with its schema; a mismatch is a 422 listing every issue. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new AppError('validation_error', 'request is invalid', {
    issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}
