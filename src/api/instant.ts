import { z } from 'zod';

/** The latest instant a JavaScript Date holds (year 275760); PostgreSQL's timestamptz holds it too. */
const MAX_EPOCH_MS = 8_640_000_000_000_000;

/**
 * A point in time as callers give it: epoch milliseconds or an ISO 8601 date-time with an offset.
 * Bounded, so that an out-of-range number is a 422 rather than an Invalid Date reaching PostgreSQL.
 * `fromQuery` accepts the number as a string (query parameters).
 */
export function instant({ fromQuery = false } = {}) {
  const epochMs = (fromQuery ? z.coerce.number() : z.number()).int().min(0).max(MAX_EPOCH_MS);
  return z.union([epochMs, z.iso.datetime({ offset: true })]).transform((v) => new Date(v));
}
