import type { Db } from '../../src/db/pool.js';

/** Where each kind of expiring key list is kept (src/domain/signing-keys.ts). */
const KEY_LISTS = {
  webhooks: 'signing_keys',
  event_sources: 'verification_keys',
  workspaces: 'ingress_keys',
  rooms: 'twilio_auth_keys',
} as const;

/**
 * Ends the overlap window of every rotated-out key of one row now, as its expiry would: the current
 * key (expiresAt null) stays, the others expired long ago.
 */
export async function endRotationOverlap(db: Db, table: keyof typeof KEY_LISTS, id: string): Promise<void> {
  const column = KEY_LISTS[table];
  await db.query(
    `UPDATE ${table} SET ${column} = (
       SELECT jsonb_agg(CASE WHEN k->'expiresAt' = 'null' THEN k ELSE jsonb_set(k, '{expiresAt}', '1') END)
         FROM jsonb_array_elements(${column}) k)
      WHERE id = $1`,
    [id],
  );
}
