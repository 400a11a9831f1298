import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { revokeApiKey } from '../../src/db/orgs.js';
import { createApiKey } from '../../src/tenancy.js';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { expectNoServerErrors } from '../support/fixtures.js';
import { openSse, type SseClient } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

// A revoked API key ends the event streams it opened, SSE and WebSocket alike: the key was checked
// at connect, and each open stream re-checks it every HOOKWISE_STREAM_KEY_RECHECK_SECONDS.

const RECHECK_SECONDS = 0.2;
// How long the test waits for the streams to notice: generous, a wait on their state and never a sleep.
const NOTICE_MS = 10_000;

let h: Hookwise;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  h = await startHookwise({ worker: false, env: { HOOKWISE_STREAM_KEY_RECHECK_SECONDS: String(RECHECK_SECONDS) } });
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  expectNoServerErrors(h);
});
afterAll(async () => {
  await h?.stop();
});

async function sse(query: string, key?: string): Promise<SseClient & { ended: () => boolean }> {
  const client = await openSse(`${h.baseUrl}/api/v1/events/stream${query}`, { key });
  cleanups.push(() => client.close());
  expect(client.status).toBe(200);
  let ended = false;
  void client.text().then(() => (ended = true));
  return Object.assign(client, { ended: () => ended });
}

async function ws(key: string) {
  const socket = new WebSocket(`${h.baseUrl.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${encodeURIComponent(key)}`);
  cleanups.push(() => socket.terminate());
  const messages: string[] = [];
  socket.on('message', (m) => messages.push(m.toString()));
  let closed: { code: number; reason: string } | null = null;
  socket.once('close', (code, reason) => (closed = { code, reason: reason.toString() }));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { messages, closed: () => closed };
}

it('revoking the API key ends its SSE (header and ?access_token=) and WebSocket streams; other keys’ streams go on', async () => {
  const org = await h.newOrg();
  const revoked = await createApiKey(h.db, org.orgId, ['read']);
  const kept = await createApiKey(h.db, org.orgId, ['read']);

  const byHeader = await sse('', revoked.key);
  const byQuery = await sse(`?access_token=${encodeURIComponent(revoked.key)}`);
  const socket = await ws(revoked.key);
  const other = await sse('', kept.key);
  const otherSocket = await ws(kept.key);

  const publish = async (type: string) => {
    const sent = await h.request('POST', '/api/v1/events', { key: org.key, body: { type, data: {} } });
    expect(sent.status, sent.text).toBe(202);
  };
  // All live.
  await publish('before.revocation');
  await Promise.all([byHeader.waitForEvents(1), byQuery.waitForEvents(1), other.waitForEvents(1)]);
  await waitFor(() => socket.messages.length >= 1 && otherSocket.messages.length >= 1, { what: 'the WebSocket messages' });
  expect([byHeader.ended(), byQuery.ended(), socket.closed()]).toEqual([false, false, null]);

  // What `npx hookwise keys:revoke` does.
  expect(await revokeApiKey(h.db, revoked.id)).toEqual({ organizationId: org.orgId });
  await waitFor(() => byHeader.ended() && byQuery.ended() && socket.closed(), { timeoutMs: NOTICE_MS, what: 'the revoked key’s streams to end' });
  expect(socket.closed()).toEqual({ code: 1008, reason: 'api key revoked' });

  // The other key's streams, re-checked as often, are untouched; the revoked key can't open a new one.
  await publish('after.revocation');
  await other.waitForEvents(2);
  await waitFor(() => otherSocket.messages.length >= 2, { what: 'the other WebSocket’s second message' });
  expect([other.ended(), otherSocket.closed()]).toEqual([false, null]);
  const reopened = await openSse(`${h.baseUrl}/api/v1/events/stream`, { key: revoked.key });
  expect(reopened.status).toBe(401);
  expect(JSON.parse(await reopened.text()).error.code).toBe('unauthorized');
});
