import type { GenericEnvelopeFields } from '../domain/generic-event.js';
import { describeJsonProblem, findJsonProblem } from '../domain/json-limits.js';
import { isStorableText, UNSTORABLE_TEXT } from '../domain/storable-text.js';
import { AppError } from '../errors.js';

/**
 * What the generic ingress refuses at the door with a 400, so that nothing it accepts can fail later
 * in its workflow (where a failure would be retried forever): a payload nested deeper than
 * MAX_JSON_DEPTH, and text PostgreSQL can't store (NUL, unpaired surrogates) in the payload or in
 * any field taken from the query string or headers.
 */
export function payloadProblem(payload: unknown): AppError | null {
  const problem = findJsonProblem(payload, { text: true });
  return problem ? new AppError('bad_request', `the body is ${describeJsonProblem(problem)}`) : null;
}

export function fieldsProblem(fields: GenericEnvelopeFields): AppError | null {
  const named: Array<[string, string | null]> = [
    ['event_type', fields.eventType],
    ['source', fields.source],
    // Before source_identifier, which falls back to it.
    ['dedupe_key', fields.dedupeKey],
    ['source_identifier', fields.sourceIdentifier],
    ...Object.entries(fields.headers).flatMap(([k, v]): Array<[string, string]> => [[`header name`, k], [`header ${k}`, v]]),
  ];
  const bad = named.find(([, value]) => value !== null && !isStorableText(value));
  return bad ? new AppError('bad_request', `${bad[0].replaceAll('\u0000', '\\u0000')} ${UNSTORABLE_TEXT}`) : null;
}
