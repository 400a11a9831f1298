import { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * Keyset pagination for lists ordered newest first by (time, id): `nextCursor` names the last row
 * returned, and the next page starts after it. Cursors are opaque to callers (base64url JSON) and
 * stay valid however many rows arrive meanwhile; "" means there is no next page. The list query takes
 * the named row's own time (microseconds, where `at` has milliseconds) and falls back to `at` only
 * when that row is gone.
 */
export interface Position {
  at: Date;
  id: string;
}

const shape = z.object({ t: z.number().int().min(0).max(8_640_000_000_000_000), i: z.string().min(1).max(200) });

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify({ t: p.at.getTime(), i: p.id })).toString('base64url');
}

export function decodeCursor(raw: string | undefined): Position | null {
  if (!raw) return null;
  try {
    const parsed = shape.parse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return { at: new Date(parsed.t), id: parsed.i };
  } catch {
    throw new AppError('validation_error', 'cursor is not one this API issued', { issues: [{ path: 'cursor', message: 'invalid cursor' }] });
  }
}

/** Splits a page fetched with limit + 1 rows into the page and the cursor of the next one. */
export function page<T>(rows: T[], limit: number, position: (row: T) => Position): { data: T[]; nextCursor: string } {
  const data = rows.slice(0, limit);
  return { data, nextCursor: rows.length > limit ? encodeCursor(position(data[data.length - 1])) : '' };
}
