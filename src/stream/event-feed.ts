import pg from 'pg';
import type { Db } from '../db/pool.js';
import { eventsAfter, latestSeq, seqOfEvent, type LoggedEvent } from '../db/event-log.js';
import { AppError } from '../errors.js';
import { isStorableText } from '../domain/storable-text.js';

/** How often a subscriber looks for events anyway, in case a notification was missed (reconnects). */
const SAFETY_POLL_MS = 5_000;
const BATCH = 500;

export interface Subscription {
  close(): void;
}

/**
 * Live events for the stream endpoints. One LISTEN connection per API process learns that an org has
 * new events (a trigger notifies on every insert into the events table); each subscriber then reads
 * what it has not sent yet, by the org's seq (which is commit order), from the table itself — so a
 * subscriber that starts from a Last-Event-ID gets exactly the missed events, in order, and nothing
 * depends on a notification arriving.
 */
export function createEventFeed(db: Db, databaseUrl: string, log: (line: string) => void) {
  const wakers = new Map<string, Set<() => void>>();
  let listener: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let closed = false;

  async function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', (n) => {
      const orgId = n.payload?.slice(0, n.payload.lastIndexOf(':')) ?? '';
      for (const wake of wakers.get(orgId) ?? []) wake();
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
    /** Resolves a client's resume point (a seq, or an event id it saw) to a seq; null → from now on. */
    async startSeq(organizationId: string, lastEventId: string | null): Promise<number> {
      if (lastEventId && /^\d+$/.test(lastEventId)) {
        const seq = Number(lastEventId);
        if (!Number.isSafeInteger(seq)) throw new AppError('bad_request', 'Last-Event-ID is not a sequence number this stream issued');
        return seq;
      }
      if (lastEventId) {
        if (!isStorableText(lastEventId)) throw new AppError('bad_request', 'Last-Event-ID is not a sequence number or event id this stream issued');
        const seq = await seqOfEvent(db, organizationId, lastEventId);
        if (seq !== null) return seq;
      }
      return latestSeq(db, organizationId);
    },

    /**
     * Calls `send` for every event of the org after `afterSeq` that passes `filter`, in order, now and
     * as they are published, until closed. Sends are never concurrent.
     */
    subscribe(
      organizationId: string,
      afterSeq: number,
      filter: (type: string) => boolean,
      send: (e: LoggedEvent) => void,
    ): Subscription {
      let cursor = afterSeq;
      let running = false;
      let again = false;
      let open = true;
      const drain = async () => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            let batch: LoggedEvent[];
            do {
              batch = await eventsAfter(db, organizationId, cursor, BATCH);
              for (const e of batch) {
                if (!open) return;
                cursor = e.seq;
                if (filter(e.type)) send(e);
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
        close() {
          open = false;
          clearInterval(poll);
          set!.delete(wake);
          if (set!.size === 0) wakers.delete(organizationId);
        },
      };
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
