// Short names for the SQL statements the benchmarks count (bench/host.ts) and see waiting
// (bench/locks.ts); anything else goes by its first words.

/** Short names for the statements the benchmarks talk about; anything else goes by its first words. */
const KINDS: Array<[RegExp, string]> = [
  [/^(BEGIN|COMMIT|ROLLBACK)\b/i, '$1'],
  [/FROM api_keys|UPDATE api_keys/i, 'auth: API key'],
  [/INSERT INTO events\b/i, 'publish: record event + deliveries'],
  [/FROM webhooks w WHERE w\.organization_id = \$1 AND w\.active/i, 'publish: matching webhooks'],
  // Matched by its opening: pg_stat_activity shows only the first 1024 bytes of a statement.
  [/^WITH d AS \(\s*SELECT id, status, webhook_id, event_id\b/i, 'attempt: claim (slot + attempt row)'],
  [/INSERT INTO endpoint_slots/i, 'attempt: create slot rows'],
  [/^WITH attempt AS \(\s*UPDATE delivery_attempts/i, 'attempt: finish (result + stats + release)'],
  [/UPDATE deliveries SET status = 'cancelled'/i, 'attempt: cancel'],
  [/SELECT organization_id AS "organizationId" FROM deliveries WHERE id/i, 'notices: organization of delivery'],
  [/^LISTEN\b/i, 'feed: LISTEN'],
  [/INSERT INTO room_events[\s\S]*FROM event_sources s WHERE s\.token_hash/i, 'INSERT room_events (by token)'],
  [/INSERT INTO room_events/i, 'INSERT room_events'],
  [/INSERT INTO event_inbox/i, 'INSERT event_inbox'],
  [/INSERT INTO bench_baseline/i, 'INSERT bench_baseline'],
  [/FROM event_sources s WHERE s\.token_hash/i, 'token lookup (SELECT event_sources)'],
  [/FROM workspaces WHERE id = \$1/i, 'workspace lookup (SELECT workspaces)'],
  [/start_retry_at|workflow_started_at IS NULL|started_at IS NULL/i, 'recovery: list unstarted'],
];

const kindCache = new Map<string, string>();

export function statementKind(text: string): string {
  let k = kindCache.get(text);
  if (k !== undefined) return k;
  const sql = text.replace(/\s+/g, ' ').trim();
  k = sql.slice(0, 60);
  for (const [re, name] of KINDS) {
    const m = re.exec(sql);
    if (m) {
      k = name.replace('$1', (m[1] ?? '').toUpperCase());
      break;
    }
  }
  if (kindCache.size < 10_000) kindCache.set(text, k);
  return k;
}
