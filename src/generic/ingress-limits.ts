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

/**
 * Longest values a sender may give, in characters. The source and event type make the role name
 * `webhook.<source>.<event_type_slug>`, which is also an event type and a Temporal search attribute
 * (at most 255 bytes), so they are short; a dedupe key (which the source identifier falls back to) is
 * only hashed into an id, so it may be long.
 */
export const MAX_FIELD_LENGTH = { source: 64, event_type: 160, source_identifier: 32_768, dedupe_key: 32_768 } as const;

/** The longest role an event can have (`webhook.` + source + `.` + event type slug): longer ones could never match. */
export const MAX_ROLE_LENGTH = 'webhook.'.length + MAX_FIELD_LENGTH.source + 1 + MAX_FIELD_LENGTH.event_type;

export function fieldsProblem(fields: GenericEnvelopeFields): AppError | null {
  for (const [name, max] of Object.entries(MAX_FIELD_LENGTH)) {
    const value = { source: fields.source, event_type: fields.eventType, source_identifier: fields.sourceIdentifier, dedupe_key: fields.dedupeKey }[
      name as keyof typeof MAX_FIELD_LENGTH
    ];
    if (value !== null && value.length > max) return new AppError('bad_request', `${name} is longer than ${max} characters`);
  }
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
