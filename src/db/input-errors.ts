/**
 * PostgreSQL errors that mean "this input can't be stored", not "the database is in trouble": the
 * caller's request is at fault, so the answer is a 4xx and retrying would never help. Schemas refuse
 * such input first (src/domain/storable-text.ts); this is the safety net behind them.
 */
const INPUT_ERRORS: Record<string, string> = {
  // NUL in a text value.
  '22021': 'text cannot contain NUL (\\u0000) characters',
  // A \u0000 escape in json/jsonb input (PostgreSQL can't convert it to text).
  '22P05': 'JSON text cannot contain \\u0000',
  // Malformed input for a type: json with an unpaired surrogate escape (\ud800), a bad number…
  '22P02': 'a value is not valid for its type (for JSON: unpaired surrogate escapes such as \\ud800 are refused)',
  // A number outside its column's range.
  '22003': 'a number is out of range',
};

/** The caller-facing explanation when `err` is one of those errors, else null. */
export function storageInputError(err: unknown): { code: string; message: string } | null {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !Object.hasOwn(INPUT_ERRORS, code)) return null;
  // pg's errors carry `severity`; other errors with a look-alike `code` (e.g. Node's) are not these.
  if (typeof (err as { severity?: unknown }).severity !== 'string') return null;
  return { code, message: INPUT_ERRORS[code] };
}

/**
 * A foreign-key violation (23503) on insert: every route looks its parent rows up first, so this only
 * happens when one was deleted while the request ran (a webhook deleted during its test send). The
 * answer is what a moment later would have said: it isn't there.
 */
export function vanishedReference(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown };
  return e?.code === '23503' && typeof e.severity === 'string';
}
