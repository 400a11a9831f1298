import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, postRoomEvent, roomBacklog, roomFixture } from '../support/fixtures.js';
import { waitFor } from '../support/wait.js';
import { admitToBacklog } from '../../src/db/backlog.js';

// A backlog drop is decided once per event: settling an event again (its activity retried after a
// worker died past the drop's commit) neither counts the drop again nor admits the event after all.

let h: Hookwise;
beforeAll(async () => {
  // A cap of one and an hour-long tick: the first event waits, the second is dropped, nothing runs.
  h = await startHookwise({ env: { HOOKWISE_BACKLOG_CAP: '1', HOOKWISE_ROOM_TICK_SECONDS: '3600' } });
});
afterAll(async () => {
  await h?.stop();
});

it('admitting a dropped event again keeps it dropped and counted once, even once the backlog has room', async () => {
  const api = await orgApi(h);
  const room = await roomFixture(api, {
    workspaceName: 'drops',
    definitions: [{ name: 'ping', priority: 1, rule: { path: 'type', equals: 'ping' } }],
  });
  const counters = () => roomBacklog(api, room.roomId);
  const send = async (n: number): Promise<string> => (await postRoomEvent(h, room.token, { type: 'ping', n }, { accepted: true })).body.eventId;

  const admittedId = await send(1);
  await waitFor(async () => (await counters()).depth[room.sourceId] === 1, { what: 'the first event admitted' });
  const droppedId = await send(2);
  await waitFor(async () => (await counters()).dropped[room.sourceId] === 1, { what: 'the second event dropped' });

  // What settleRoomEvent asks for that event, asked again as its retry would.
  const retry = () =>
    admitToBacklog(h.db, {
      organizationId: api.orgId,
      roomId: room.roomId,
      sourceId: room.sourceId,
      eventId: droppedId,
      definitionId: room.definitions.ping,
      priority: 1,
      cap: 1,
    });
  expect(await retry()).toEqual({ admitted: false });
  expect((await counters()).dropped).toEqual({ [room.sourceId]: 1 });

  // The backlog has room by the time of the retry: the drop still stands.
  await h.db.query(`UPDATE backlog_items SET status = 'done' WHERE event_id = $1`, [admittedId]);
  expect(await retry()).toEqual({ admitted: false });
  const after = await counters();
  expect(after.dropped).toEqual({ [room.sourceId]: 1 });
  expect(after.depth).toEqual({ [room.sourceId]: 0 });
  const { rows } = await h.db.query(`SELECT event_id FROM backlog_items WHERE room_id = $1`, [room.roomId]);
  expect(rows).toEqual([{ event_id: admittedId }]);
});
