import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { openSse, type SseClient } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

// Each open event stream reads PostgreSQL on every event and every 5 s, and the database is every
// org's: one org holds at most HOOKWISE_MAX_STREAMS_PER_ORG streams open on one API process.

let h: Hookwise;
const open: SseClient[] = [];
beforeAll(async () => {
  h = await startHookwise({ worker: false, env: { HOOKWISE_MAX_STREAMS_PER_ORG: '2' } });
});
afterAll(async () => {
  for (const c of open) c.close();
  await h?.stop();
});

const stream = async (key: string) => {
  const client = await openSse(`${h.baseUrl}/api/v1/events/stream`, { key });
  open.push(client);
  return client;
};

/** The HTTP status a WebSocket upgrade is answered with (101 when it opens). */
const upgradeStatus = (key: string) =>
  new Promise<number>((resolve, reject) => {
    const socket = new WebSocket(`${h.baseUrl.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${encodeURIComponent(key)}`);
    socket.once('open', () => {
      socket.terminate();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.once('error', reject);
  });

it('past the limit an org gets 429 on SSE and WebSocket; other orgs are not affected; a closed stream frees its place', async () => {
  const a = await h.newOrg();
  const b = await h.newOrg();
  const first = await stream(a.key);
  expect((await stream(a.key)).status).toBe(200);

  const refused = await stream(a.key);
  expect(refused.status).toBe(429);
  expect(JSON.parse(await refused.text()).error).toMatchObject({ code: 'too_many_requests', details: { limit: 2 } });
  expect(await upgradeStatus(a.key)).toBe(429);
  expect((await stream(b.key)).status).toBe(200);

  first.close();
  await waitFor(async () => (await upgradeStatus(a.key)) === 101, { what: 'the closed stream’s place to free up' });
});
