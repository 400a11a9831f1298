import http from 'node:http';
import type { Db } from '../../src/db/pool.js';
import { log, postJson, sleep } from '../support.js';
import type { Stream } from './stream.js';

// One pass of the stream through hookwise: a room whose one event source has the stream's
// definitions (description-only, so every event goes to the model or the cache), the events posted to
// its token (POST /webhooks/:token) at a steady rate, then waiting until each is settled and reading
// how each was matched from room_events (what the match log shows).

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
/** Requests the pacer lets be unanswered; past that it waits. */
const MAX_OUTSTANDING = 500;

export const destroyAgent = (): void => agent.destroy();

const request = (baseUrl: string, _method: 'POST', path: string, body: string, key?: string) =>
  postJson(agent, baseUrl, path, body, { key, timeoutMs: 60_000 });

async function create(apiUrl: string, key: string, path: string, body: unknown): Promise<{ id: string; token?: string }> {
  const res = await request(apiUrl, 'POST', path, JSON.stringify(body), key);
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${res.text}`);
  return JSON.parse(res.text) as { id: string; token?: string };
}

export interface Room {
  roomId: string;
  sourceId: string;
  token: string;
  /** Definition id → the stream's definition name. */
  nameById: Map<string, string>;
}

/** A room of its own with one event source carrying the stream's definitions, in their priority order. */
export async function setUpRoom(apiUrl: string, key: string, stream: Stream, label: string): Promise<Room> {
  const ws = await create(apiUrl, key, '/api/v1/workspaces', { name: `llm ${label}` });
  const room = await create(apiUrl, key, `/api/v1/workspaces/${ws.id}/rooms`, { name: label, instructions: 'Handle business events.' });
  const source = await create(apiUrl, key, `/api/v1/rooms/${room.id}/event-sources`, { name: 'mixed senders' });
  const nameById = new Map<string, string>();
  for (const [i, d] of stream.definitions.entries()) {
    const def = await create(apiUrl, key, `/api/v1/event-sources/${source.id}/definitions`, { name: d.name, description: d.description, priority: (i + 1) * 10 });
    nameById.set(def.id, d.name);
  }
  return { roomId: room.id, sourceId: source.id, token: source.token!, nameById };
}

export interface SendResult {
  /** hookwise's event id per stream index (null when the event was not accepted). */
  eventIds: Array<string | null>;
  refused: string[];
  seconds: number;
}

/** Events of the room settled so far (matched or not). */
async function settledCount(db: Db, room: Room): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM room_events WHERE room_id = $1 AND outcome IS NOT NULL`, [room.roomId]);
  return rows[0].n as number;
}

/**
 * Posts events [0, n) of the stream at up to `rate` per second, keeping at most `inFlight` of them
 * posted but not yet settled: the engine works at its capacity without a queue that grows for ever
 * (which on a small machine ends in workflow-task timeouts and retried activities, not a throughput).
 */
export async function sendStream(apiUrl: string, db: Db, room: Room, stream: Stream, n: number, o: { rate: number; inFlight: number }): Promise<SendResult> {
  const eventIds: Array<string | null> = new Array(n).fill(null);
  const refused: string[] = [];
  const path = `/webhooks/${room.token}`;
  let outstanding = 0;
  let settled = 0;
  let settledAt = 0;
  const pending: Array<Promise<void>> = [];
  const t0 = performance.now();
  let next = t0;
  let lastLog = t0;
  for (let i = 0; i < n; i++) {
    next = Math.max(next + 1000 / o.rate, performance.now() - 1000);
    while (performance.now() < next || outstanding >= MAX_OUTSTANDING) await sleep(Math.max(1, Math.min(20, next - performance.now())));
    while (i - settled >= o.inFlight) {
      if (performance.now() - settledAt >= 200) {
        settled = await settledCount(db, room);
        settledAt = performance.now();
      } else await sleep(50);
    }
    outstanding++;
    pending.push(
      request(apiUrl, 'POST', path, JSON.stringify(stream.events[i].payload))
        .then(
          (res) => {
            const body = res.status === 200 ? (JSON.parse(res.text) as { ok?: boolean; eventId?: string }) : {};
            if (body.ok && body.eventId) eventIds[i] = body.eventId;
            else if (refused.length < 5) refused.push(`${res.status} ${res.text.slice(0, 160)}`);
          },
          (err: unknown) => {
            if (refused.length < 5) refused.push((err as Error).message);
          },
        )
        .finally(() => outstanding--),
    );
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      log(`  sent ${i + 1}/${n}, ${settled} settled`);
    }
  }
  await Promise.all(pending);
  return { eventIds, refused, seconds: (performance.now() - t0) / 1000 };
}

export interface Settled {
  /** The matched definition's name (null: none) per stream index; undefined when never settled. */
  matched: Array<string | null | undefined>;
  reasons: Array<string | undefined>;
  /** Seconds from the first event received to the last one settled. */
  spanSeconds: number;
  /** Received → settled, ms. */
  latencyMs: number[];
  unsettled: number;
}

/** Waits until every accepted event of the source is settled (or `deadline`, performance.now() ms), then reads how. */
export async function waitSettled(db: Db, room: Room, sent: SendResult, deadline: number): Promise<Settled> {
  const accepted = sent.eventIds.filter((x) => x !== null).length;
  let lastLog = performance.now();
  for (;;) {
    const n = await settledCount(db, room);
    if (n >= accepted || performance.now() > deadline) break;
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      log(`  settled ${n}/${accepted}`);
    }
    await sleep(500);
  }
  const { rows } = await db.query(
    `SELECT id, matched_definition_id AS def, match_reason AS reason, outcome,
            extract(epoch FROM received_at) * 1000 AS received, extract(epoch FROM matched_at) * 1000 AS matched
       FROM room_events WHERE source_id = $1`,
    [room.sourceId],
  );
  const byId = new Map(rows.map((r) => [r.id as string, r]));
  const matched: Settled['matched'] = [];
  const reasons: Settled['reasons'] = [];
  const latencyMs: number[] = [];
  let firstReceived = Infinity;
  let lastMatched = -Infinity;
  let unsettled = 0;
  sent.eventIds.forEach((id, i) => {
    const r = id === null ? undefined : byId.get(id);
    if (!r || r.outcome === null) {
      if (id !== null) unsettled++;
      matched[i] = undefined;
      return;
    }
    matched[i] = r.def === null ? null : (room.nameById.get(r.def) ?? `unknown definition ${r.def}`);
    reasons[i] = r.reason;
    const received = Number(r.received);
    const at = Number(r.matched);
    latencyMs.push(at - received);
    firstReceived = Math.min(firstReceived, received);
    lastMatched = Math.max(lastMatched, at);
  });
  return { matched, reasons, spanSeconds: Math.max(0, (lastMatched - firstReceived) / 1000), latencyMs, unsettled };
}
