import { createHash } from 'node:crypto';

/**
 * Workflow ids must fit in 255 bytes on every Temporal engine (the production engine stores them in a
 * varchar(255)) and should still read well in the Temporal UI. A part a sender controls (a dedupe key)
 * is kept as is when it is short and plain; otherwise it becomes a readable prefix plus `~` and a hash
 * of the whole value. The two forms cannot collide: a kept part is at most MAX_KEPT_BYTES and has no
 * `~`, a hashed one is longer than that.
 */
export const MAX_WORKFLOW_ID_BYTES = 255;
const MAX_KEPT_BYTES = 64;
const PREFIX_CHARS = 40;
// Letters, digits and a few separators read well and need no escaping in the UI's search box.
const PLAIN = /^[A-Za-z0-9_.:@/+=-]*$/;

export function boundedPart(value: string): string {
  if (Buffer.byteLength(value, 'utf8') <= MAX_KEPT_BYTES && PLAIN.test(value)) return value;
  const prefix = value.replace(/[^A-Za-z0-9_.:@/+=-]+/g, '_').slice(0, PREFIX_CHARS);
  const hash = createHash('sha256').update(value, 'utf8').digest('base64url').slice(0, 27);
  return `${prefix}~${hash}`;
}

/** Joins id parts with `:`; throws if the result would not fit (a bug: only our own ids and bounded parts go in). */
export function workflowId(...parts: string[]): string {
  const id = parts.join(':');
  if (Buffer.byteLength(id, 'utf8') > MAX_WORKFLOW_ID_BYTES) throw new Error(`workflow id over ${MAX_WORKFLOW_ID_BYTES} bytes: ${id.slice(0, 80)}…`);
  return id;
}
