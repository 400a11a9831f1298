import { z } from 'zod';

/**
 * Text PostgreSQL can store. `text` refuses U+0000 (22021) and so does `jsonb` (22P05, for the
 * `\u0000` escape); an unpaired UTF-16 surrogate has no UTF-8 form at all, so `jsonb` refuses its
 * escape (22P02) and `text` silently stores U+FFFD instead of what was sent. Input is checked against
 * this before it reaches the database, so the caller gets a 4xx naming the field, never a 500.
 */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && (value as string & { isWellFormed(): boolean }).isWellFormed();
}

export const UNSTORABLE_TEXT = 'must not contain NUL (\\u0000) or unpaired UTF-16 surrogates (such as \\ud800)';

/** `z.string()` that only accepts storable text; chain `.min()`, `.max()`, `.regex()` on it as usual. */
export function storableString(): z.ZodString {
  return z.string().refine(isStorableText, { message: UNSTORABLE_TEXT });
}
