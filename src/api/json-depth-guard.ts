import type { Middleware } from 'koa';
import { describeJsonProblem, findJsonProblem, MAX_JSON_DEPTH, readablePath } from '../domain/json-limits.js';
import { AppError } from '../errors.js';

/**
 * Runs after the body parser on every `/api/v1` route: a JSON body nested deeper than
 * MAX_JSON_DEPTH is a 422 before any route, schema or query sees it (deep documents make
 * JSON.stringify and recursive validators throw RangeError, which would otherwise be a 500).
 */
export function rejectDeepJson(): Middleware {
  return async (ctx, next) => {
    const problem = findJsonProblem((ctx.request as { body?: unknown }).body, { maxDepth: MAX_JSON_DEPTH });
    if (problem) {
      throw new AppError('validation_error', `the body is ${describeJsonProblem(problem)}`, {
        issues: [{ path: readablePath(problem.path), message: `nested too deeply (max depth ${MAX_JSON_DEPTH})` }],
      });
    }
    await next();
  };
}
