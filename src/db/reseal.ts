import { withTransaction, type Db } from './pool.js';
import type { SecretBox } from '../domain/secrets.js';
import type { SigningKey } from '../domain/signing-keys.js';

/**
 * Every column holding sealed secrets, by table: key lists (jsonb `[{secret, createdAt, expiresAt}]`,
 * src/domain/signing-keys.ts) and single sealed values (text). The columns 0001-0003 sealed into were
 * moved into key lists and dropped by 0004.
 */
export const SEALED_COLUMNS = [
  { table: 'webhooks', keyLists: ['signing_keys'], texts: [] },
  { table: 'event_sources', keyLists: ['verification_keys'], texts: [] },
  { table: 'workspaces', keyLists: ['ingress_keys'], texts: [] },
  // twilio_auth_token_sealed: the newest token, kept for the previous release during a rolling deploy (0015).
  { table: 'rooms', keyLists: ['twilio_auth_keys'], texts: ['twilio_auth_token_sealed'] },
] as const satisfies readonly { table: string; keyLists: readonly string[]; texts: readonly string[] }[];

export interface ResealProgress {
  table: string;
  /** Rows walked so far, each now sealed with the current key. */
  done: number;
  /** Of those, rows that already were (left as they were). */
  alreadyCurrent: number;
  /** Rows with a sealed value when the table's walk began (rows added meanwhile can take done past it). */
  total: number;
}

/** A sealed value that opens with neither key; names where it is, never what it holds. */
export class ResealError extends Error {}

/**
 * Seals every stored secret with the box's current key, table by table, in batches of `batch` rows
 * walked in id order. Each batch is one transaction holding its rows FOR UPDATE, so a rotation through
 * the API (which locks the row too) waits instead of writing back what it read before the batch.
 * Values already under the current key are left as they are, so running it again rewrites nothing.
 * A value that opens with neither key stops the walk with a ResealError: its batch is rolled back,
 * batches before it stay committed, and every row still opens with one of the two keys.
 */
export async function resealSecrets(db: Db, box: SecretBox, o: { batch: number; progress: (p: ResealProgress) => void }): Promise<void> {
  for (const { table, keyLists, texts } of SEALED_COLUMNS) {
    const columns: string[] = [...keyLists, ...texts];
    const anySealed = columns.map((c) => `${c} IS NOT NULL`).join(' OR ');
    const { rows: counted } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${anySealed}`);
    const progress: ResealProgress = { table, done: 0, alreadyCurrent: 0, total: counted[0].n };
    let after = '';
    for (;;) {
      const walked = await withTransaction(db, async (tx) => {
        const { rows } = await tx.query<Record<string, unknown> & { id: string }>(
          `SELECT id, ${columns.join(', ')} FROM ${table} WHERE id > $1 AND (${anySealed}) ORDER BY id LIMIT $2 FOR UPDATE`,
          [after, o.batch],
        );
        let alreadyCurrent = 0;
        for (const row of rows) {
          const changed: [string, unknown][] = [];
          for (const column of columns) {
            const value = row[column];
            if (value === null) continue;
            const resealed = resealValue(value, (sealed) => {
              try {
                return box.reseal(sealed);
              } catch (err) {
                // The box's messages never hold the value.
                throw new ResealError(
                  `cannot reseal ${table} row ${row.id} (${column}), which opens with neither the current nor the previous key: ${(err as Error).message}. ` +
                    'Rows walked before it are resealed; its batch was rolled back, so every other row is as it was',
                );
              }
            });
            if (resealed !== null) changed.push([column, resealed]);
          }
          if (changed.length === 0) {
            alreadyCurrent += 1;
            continue;
          }
          // Key lists go in as JSON text: node-postgres would send a JS array as a PostgreSQL array.
          const sets = changed.map(([column], i) => `${column} = $${i + 2}`).join(', ');
          const params = changed.map(([column, v]) => ((keyLists as readonly string[]).includes(column) ? JSON.stringify(v) : v));
          await tx.query(`UPDATE ${table} SET ${sets} WHERE id = $1`, [row.id, ...params]);
        }
        return { count: rows.length, last: rows.at(-1)?.id, alreadyCurrent };
      });
      progress.done += walked.count;
      progress.alreadyCurrent += walked.alreadyCurrent;
      progress.total = Math.max(progress.total, progress.done);
      if (walked.last === undefined) break;
      after = walked.last;
      o.progress({ ...progress });
      if (walked.count < o.batch) break;
    }
    // An empty table still says so; a walk that ended on a full batch reported its count already.
    if (progress.done === 0) o.progress({ ...progress });
  }
}

/** One column's value resealed: a key list with every secret under the current key, a sealed text; null if nothing changed. */
function resealValue(value: unknown, reseal: (sealed: string) => string | null): unknown {
  if (!Array.isArray(value)) return reseal(value as string);
  let changed = false;
  const keys = (value as SigningKey<string>[]).map((k) => {
    const secret = reseal(k.secret);
    if (secret === null) return k;
    changed = true;
    return { ...k, secret };
  });
  return changed ? keys : null;
}
