import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, subscribeReceiver } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { RETENTION_SCHEDULE_ID } from '../../src/flows/retention.js';
import { withClient } from '../../src/db/pool.js';
import { pruneDeliveryHistory } from '../../src/db/retention.js';

// Retention: a Temporal schedule runs the `retention` workflow, which deletes delivery history older
// than HOOKWISE_RETENTION_DAYS in bounded batches and leaves everything newer alone.

let h: Hookwise;

beforeAll(async () => {
  h = await startHookwise({ env: { HOOKWISE_RETENTION_DAYS: '30' } });
});
afterAll(async () => {
  await h?.stop();
});

it('deletes finished deliveries, their attempts and their events older than the retention age, in batches', async () => {
  const api = await orgApi(h);
  const { orgId, call } = api;
  const { receiver } = await subscribeReceiver(api);
  try {
    const published = [];
    for (let i = 0; i < 5; i++) published.push(await call('POST', '/api/v1/events', { type: 'old', data: { i } }));
    await waitFor(async () => (await call('GET', '/api/v1/deliveries?status=succeeded')).data.length === 5, { what: 'five deliveries' });
    // Three of them happened 40 days ago.
    const old = published.slice(0, 3).map((e) => e.id);
    await h.db.query(`UPDATE deliveries SET completed_at = now() - interval '40 days' WHERE event_id = ANY($1)`, [old]);
    await h.db.query(`UPDATE events SET created_at = now() - interval '40 days' WHERE id = ANY($1)`, [old]);

    // What the hourly schedule starts; here on this test's own task queue.
    const result = await h.temporal.client.workflow.execute('retention', { taskQueue: h.config.HOOKWISE_TASK_QUEUE, workflowId: `retention-test-${orgId}`, args: [] });
    expect((result as { deleted: number }).deleted).toBeGreaterThanOrEqual(6);

    const { rows: events } = await h.db.query(`SELECT id FROM events WHERE organization_id = $1 ORDER BY id`, [orgId]);
    expect(events.map((r) => r.id).sort()).toEqual(published.slice(3).map((e) => e.id).sort());
    const { rows: attempts } = await h.db.query(
      `SELECT count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.organization_id = $1`,
      [orgId],
    );
    expect(attempts[0].n).toBe(2);
    expect((await call('GET', '/api/v1/deliveries')).data).toHaveLength(2);
  } finally {
    await receiver.close();
  }
});

it('the worker keeps an hourly retention schedule', async () => {
  const schedule = await h.temporal.client.schedule.getHandle(RETENTION_SCHEDULE_ID).describe();
  expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'retention' });
  expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);
});

it('takes a fractional HOOKWISE_RETENTION_DAYS (the configuration allows one)', async () => {
  const { call } = await orgApi(h); // no webhooks: its events have no deliveries
  const older = await call('POST', '/api/v1/events', { type: 'half', data: {} });
  const newer = await call('POST', '/api/v1/events', { type: 'half', data: {} });
  // 45.5 days falls between the two.
  await h.db.query(`UPDATE events SET created_at = now() - interval '46 days' WHERE id = $1`, [older.id]);
  await h.db.query(`UPDATE events SET created_at = now() - interval '45 days' WHERE id = $1`, [newer.id]);
  while ((await pruneDeliveryHistory(h.db, { olderThanDays: 45.5, batch: 1000 })) > 0);
  const { rows } = await h.db.query(`SELECT id FROM events WHERE id = ANY($1)`, [[older.id, newer.id]]);
  expect(rows.map((r) => r.id)).toEqual([newer.id]);
});

it('finds deliveries by event through an index: the cascade of an event delete and the check before it', async () => {
  await withClient(h.db, async (client) => {
    // Where an index can serve, the plan must show it; a table scan per deleted event is what it prevents.
    await client.query('SET enable_seqscan = off');
    try {
      // Any index access counts (a plain, index-only or bitmap scan: the planner picks by table statistics).
      const byIndex = /(Index (Only )?Scan using|Bitmap Index Scan on) deliveries_by_event/;
      const plan = async (sql: string, params: unknown[]) =>
        (await client.query(`EXPLAIN (COSTS OFF) ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
      // What ON DELETE CASCADE runs for each event deleted.
      expect(await plan('DELETE FROM deliveries WHERE event_id = $1', ['evt_x'])).toMatch(byIndex);
      // Retention's choice of events no delivery refers to.
      const choice = await plan(
        `SELECT e.id FROM events e
          WHERE e.created_at < now() - make_interval(secs => $1::float8 * 86400)
            AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
          ORDER BY e.created_at LIMIT 1000`,
        [30],
      );
      expect(choice).toMatch(byIndex);
    } finally {
      await client.query('RESET enable_seqscan');
    }
  });
});
