import type { Middleware } from 'koa';
import { AppError } from '../errors.js';
import { isDatabaseUnavailable } from '../db/pool.js';
import { storageInputError, vanishedReference } from '../db/input-errors.js';

/**
 * Renders every error in one envelope. Known errors keep their code; Koa's own 4xx errors (bad JSON,
 * body too large) map to the nearest code; anything else is logged and answered with a bare 500 —
 * never a stack trace.
 */
export function errorHandler(log: (line: string) => void = console.error): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError('not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.status === 405) {
        throw new AppError('method_not_allowed', `${ctx.method} is not allowed here; allowed: ${ctx.response.get('Allow')}`);
      }
    } catch (err) {
      const e = toAppError(err, (line) => log(`${ctx.method} ${ctx.path}: ${line}`));
      if (!e) {
        log(`${ctx.method} ${ctx.path} failed: ${(err as Error)?.stack ?? String(err)}`);
        ctx.status = 500;
        ctx.body = { error: { code: 'internal_error', message: 'internal error', details: {} } };
        return;
      }
      ctx.status = e.status;
      ctx.body = { error: { code: e.code, message: e.message, details: e.details } };
    }
  };
}

function toAppError(err: unknown, note: (line: string) => void): AppError | null {
  if (err instanceof AppError) return err;
  // PostgreSQL restarting or unreachable: the caller should retry, not read it as our bug.
  if (isDatabaseUnavailable(err)) return new AppError('unavailable', 'the database is unavailable; retry later');
  // Input PostgreSQL can't store (NUL, unpaired surrogates…) is the caller's, not our fault: a 422,
  // and one log line (no stack) since it means a schema let it through.
  const refused = storageInputError(err);
  if (refused) {
    note(`PostgreSQL refused the input (${refused.code}: ${(err as Error).message})`);
    return new AppError('validation_error', `the request holds a value that cannot be stored: ${refused.message}`);
  }
  if (vanishedReference(err)) return new AppError('not_found', 'something this request refers to was deleted while it ran');
  const status = (err as { status?: number; expose?: boolean })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return new AppError('payload_too_large', 'request body is too large');
    if (status === 415) return new AppError('bad_request', 'send the body as application/json');
    return new AppError('bad_request', (err as Error).message || 'bad request');
  }
  return null;
}
