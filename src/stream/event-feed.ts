import pg from 'pg';
import type { Db } from '../db/pool.js';
import { currentCursor, cursorAt, eventsAfter, type FeedCursor, type LoggedEvent } from '../db/event-log.js';
import { AppError } from '../errors.js';
import { isStorableText } from '../domain/storable-text.js';

/** How often a subscriber looks for events anyway, in case a notification was missed (reconnects). */
const SAFETY_POLL_MS = 5_000;
const BATCH = 500;

export interface Subscription {
  /** The client drained what it was sent: continue reading. */
  resume(): void;
  close(): void;
}

/**
 * Live events for the stream endpoints. One LISTEN connection per API process learns that an org has
 * new events (a trigger notifies on every insert into the events table); each subscriber then reads
 * what it has not sent yet from the table itself, in feed order (src/db/event-log.ts), so a subscriber
 * that starts from a Last-Event-ID gets exactly the missed events, in order, and nothing depends on a
 * notification arriving.
 */
export function createEventFeed(db: Db, databaseUrl: string, log: (line: string) => void, { maxStreamsPerOrg = Infinity } = {}) {
  const wakers = new Map<string, Set<() => void>>();
  let listener: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let closed = false;

  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', (n) => {
      for (const wake of wakers.get(n.payload ?? '') ?? []) wake();
    });
    client.on('error', (err) => {
      log(`event feed: listener lost (${err.message}); reconnecting`);
      listener = null;
      connecting = null;
      if (!closed && wakers.size > 0) setTimeout(() => void ensureListening(), 1_000).unref();
    });
    await client.connect();
    await client.query('LISTEN hookwise_events');
    listener = client;
    // Whatever happened while not listening is caught up by waking everyone once.
    for (const set of wakers.values()) for (const wake of set) wake();
  }

  function ensureListening(): Promise<void> {
    if (listener || closed) return Promise.resolve();
    connecting ??= listen().catch((err) => {
      connecting = null;
      log(`event feed: cannot listen (${(err as Error).message}); subscribers poll every ${SAFETY_POLL_MS} ms`);
    });
    return connecting;
  }

  return {
    /**
     * Refuses one more stream for an org that has `maxStreamsPerOrg` open on this process already:
     * each one reads PostgreSQL on every event and every 5 s, and the database is every org's.
     */
    ensureRoomFor(organizationId: string): void {
      if ((wakers.get(organizationId)?.size ?? 0) < maxStreamsPerOrg) return;
      throw new AppError('too_many_requests', `this organization has ${maxStreamsPerOrg} event streams open on this API process; close one first`, {
        limit: maxStreamsPerOrg,
      });
    },

    /** Resolves a client's resume point (a seq, or an event id it saw) to a cursor; null → from now on. */
    async startAt(organizationId: string, lastEventId: string | null): Promise<FeedCursor> {
      if (lastEventId && /^\d+$/.test(lastEventId)) {
        const seq = Number(lastEventId);
        if (!Number.isSafeInteger(seq)) throw new AppError('bad_request', 'Last-Event-ID is not a sequence number this stream issued');
        return (await cursorAt(db, organizationId, { seq }))!;
      }
      if (lastEventId) {
        if (!isStorableText(lastEventId)) throw new AppError('bad_request', 'Last-Event-ID is not a sequence number or event id this stream issued');
        const cursor = await cursorAt(db, organizationId, { id: lastEventId });
        if (cursor) return cursor;
      }
      return currentCursor(db);
    },

    /**
     * Calls `send` for every event of the org after `from` that passes `filter`, in order, now and as
     * they are published, until closed. `send` returns false when the client cannot take more yet:
     * reading pauses until `resume()` is called, so a slow client never makes the API buffer the
     * org's history in memory. Sends are never concurrent.
     */
    subscribe(
      organizationId: string,
      from: FeedCursor,
      filter: (type: string) => boolean,
      send: (e: LoggedEvent) => boolean,
    ): Subscription {
      let cursor = from;
      let running = false;
      let again = false;
      let open = true;
      let paused = false;
      const drain = async () => {
        if (running || paused) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            let batch: Awaited<ReturnType<typeof eventsAfter>>;
            do {
              batch = await eventsAfter(db, organizationId, cursor, BATCH);
              for (const e of batch) {
                if (!open) return;
                cursor = { xid: e.xid, seq: e.seq };
                if (filter(e.type) && !send(e)) {
                  paused = true;
                  return;
                }
              }
            } while (batch.length === BATCH);
          } while (again && open);
        } catch (err) {
          log(`event feed: read failed (${(err as Error).message}); retrying on the next wake`);
        } finally {
          running = false;
        }
      };
      const wake = () => void drain();
      let set = wakers.get(organizationId);
      if (!set) wakers.set(organizationId, (set = new Set()));
      set.add(wake);
      const poll = setInterval(wake, SAFETY_POLL_MS);
      poll.unref();
      void ensureListening().then(wake);
      return {
        resume() {
          paused = false;
          wake();
        },
        close() {
          // Idempotent: a second close must not drop a set another subscriber of the org has since made.
          if (!open) return;
          open = false;
          clearInterval(poll);
          set!.delete(wake);
          if (set!.size === 0) wakers.delete(organizationId);
        },
      };
    },

    /** How many subscriptions are open (for tests: a client gone must leave none behind). */
    subscriptions(): number {
      let n = 0;
      for (const set of wakers.values()) n += set.size;
      return n;
    },

    async close(): Promise<void> {
      closed = true;
      const l = listener;
      listener = null;
      await l?.end().catch(() => {});
    },
  };
}

export type EventFeed = ReturnType<typeof createEventFeed>;

/** `types=a,b,webhook.*`: exact types, or prefixes ending in `*`; empty → everything. */
export function typeFilter(raw: string | undefined): (type: string) => boolean {
  const parts = (raw ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (parts.length === 0) return () => true;
  return (type) => parts.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : type === p));
}
