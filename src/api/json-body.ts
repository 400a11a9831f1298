import type { Middleware } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { AppError } from '../errors.js';

/** The API's JSON bodies: at most 1 MB once decoded. */
export const MAX_API_JSON_BYTES = 1024 * 1024;

/**
 * The body parser of the /api/v1 routes. A body whose Content-Encoding data is corrupt (gzip,
 * deflate or br that doesn't decode) makes zlib throw an error without an HTTP status, which would
 * otherwise be a 500: anything the parser throws without a status, before the route runs, is the
 * request's fault and a 400.
 */
export function jsonBody(): Middleware {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: MAX_API_JSON_BYTES, encoding: 'utf-8' });
  return async (ctx, next) => {
    let parsed = false;
    try {
      await parse(ctx, () => {
        parsed = true;
        return next();
      });
    } catch (err) {
      // `inflation` refuses encodings it doesn't know with a 415 that would read "send application/json".
      if (!parsed && (err as { status?: unknown }).status === 415 && /content-encoding/i.test((err as Error).message)) {
        throw new AppError('bad_request', `unsupported Content-Encoding: ${ctx.get('content-encoding')}; send gzip, deflate, br or none`);
      }
      if (parsed || typeof (err as { status?: unknown }).status === 'number') throw err;
      throw new AppError('bad_request', `the body could not be read: ${(err as Error).message} (Content-Encoding: ${ctx.get('content-encoding') || 'none'})`);
    }
  };
}
