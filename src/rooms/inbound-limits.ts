import { findJsonProblem } from '../domain/json-limits.js';

/**
 * Why `POST /webhooks/:token` refuses a parsed body (answered `200 {ok: false, error}`, as that route
 * answers every bad request), or null. Checked at the door so nothing accepted can fail later in the
 * event's workflow: nesting deeper than MAX_JSON_DEPTH breaks serialisation, and text PostgreSQL
 * can't store (NUL, unpaired surrogates) would fail every retry of whatever stores it.
 */
export function roomPayloadProblem(body: unknown): string | null {
  const problem = findJsonProblem(body, { text: true });
  if (!problem) return null;
  return problem.kind === 'depth'
    ? 'payload nested too deeply'
    : 'payload contains text that cannot be stored (NUL or an unpaired UTF-16 surrogate)';
}
