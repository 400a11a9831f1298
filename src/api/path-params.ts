import type { Context, Next } from 'koa';
import { isStorableText } from '../domain/storable-text.js';
import { AppError } from '../errors.js';

/**
 * A `router.param()` check for a path parameter that reaches the database: text PostgreSQL can
 * store, and not longer than `max` (ids are short; a stored one such as `chatbotId` has the same
 * bound as the field it becomes). Without it, `/webhooks/a%00b` reaches a query and fails there.
 */
export function storableParam(name: string, o: { max: number; notFound?: string }) {
  return (value: string, _ctx: Context, next: Next) => {
    if (!isStorableText(value) || value.length > o.max) {
      if (o.notFound) throw new AppError('not_found', `${o.notFound} not found`);
      const message = `must be at most ${o.max} characters, without NUL (\\u0000)`;
      throw new AppError('validation_error', `${name} ${message}`, { issues: [{ path: name, message }] });
    }
    return next();
  };
}
