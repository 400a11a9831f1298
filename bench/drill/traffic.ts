import { mulberry32 } from './prng.js';

// The load: a plan of mixed events drawn from the seed, sent at a steady rate (open loop: a slow
// answer never delays the next send) by senders that retry the way Stripe does: on a connection
// error, a timeout or a 5xx, the same request again (same body, same dedupe key) with back-off,
// spread over the APIs the way a load balancer would, until it is acknowledged.

export type Kind = 'outbound' | 'room' | 'generic';

export interface PlannedEvent {
  index: number;
  kind: Kind;
  /** The drill's own id, carried in the payload: what the truth queries look for. */
  drillId: string;
  /** outbound: which webhook's event type; room: which room; generic: which workspace. */
  lane: number;
  /** generic: a resend of an earlier event's dedupe key (the same request again, later). */
  repeatOf?: string;
}

export interface Mix {
  outbound: number;
  room: number;
  generic: number;
  /** Share of generic events that repeat an earlier dedupe key. */
  genericRepeats: number;
}

export function planEvents(o: { events: number; seed: number; mix: Mix; outboundLanes: number; rooms: number; workspaces: number }): PlannedEvent[] {
  const random = mulberry32(o.seed);
  const plan: PlannedEvent[] = [];
  const genericKeys: string[] = [];
  const laneOf = new Map<string, number>();
  const total = o.mix.outbound + o.mix.room + o.mix.generic;
  for (let index = 0; index < o.events; index++) {
    const r = random() * total;
    const kind: Kind = r < o.mix.outbound ? 'outbound' : r < o.mix.outbound + o.mix.room ? 'room' : 'generic';
    if (kind === 'generic' && genericKeys.length > 0 && random() < o.mix.genericRepeats) {
      const original = genericKeys[Math.floor(random() * genericKeys.length)];
      const lane = laneOf.get(original)!;
      plan.push({ index, kind, drillId: original, lane, repeatOf: original });
      continue;
    }
    const drillId = `${kind[0]}-${index}`;
    const lanes = kind === 'outbound' ? o.outboundLanes : kind === 'room' ? o.rooms : o.workspaces;
    plan.push({ index, kind, drillId, lane: Math.floor(random() * lanes) });
    if (kind === 'generic') {
      genericKeys.push(drillId);
      laneOf.set(drillId, plan[plan.length - 1].lane);
    }
  }
  return plan;
}

export interface Target {
  apiUrls: string[];
  apiKey: string;
  outboundTypes: string[];
  roomTokens: string[];
  workspaceIds: string[];
}

export interface Request {
  url: string;
  init: RequestInit;
}

/** The one request a planned event is, to the API at `apiIndex` (the same body on every attempt). */
export function requestFor(ev: PlannedEvent, t: Target, apiIndex: number): Request {
  const api = t.apiUrls[apiIndex % t.apiUrls.length];
  const json = { 'content-type': 'application/json' };
  if (ev.kind === 'outbound') {
    return {
      url: `${api}/api/v1/events`,
      init: {
        method: 'POST',
        // A careful publisher: its retries carry the first try's key, so a lost answer is not a second event.
        headers: { ...json, authorization: `Bearer ${t.apiKey}`, 'idempotency-key': ev.drillId },
        body: JSON.stringify({ type: t.outboundTypes[ev.lane], data: { drillId: ev.drillId, amount: 100 + ev.index } }),
      },
    };
  }
  if (ev.kind === 'room') {
    return {
      url: `${api}/webhooks/${t.roomTokens[ev.lane]}`,
      // As a Standard Webhooks sender does: one webhook-id per message, the same on every retry.
      init: {
        method: 'POST',
        headers: { ...json, 'webhook-id': ev.drillId },
        body: JSON.stringify({ type: 'ticket.opened', drillId: ev.drillId, data: { subject: `ticket ${ev.index}` } }),
      },
    };
  }
  const query = new URLSearchParams({ source: 'drill', event_type: 'payment.succeeded', dedupe_key: ev.drillId });
  return {
    url: `${api}/api/v1/webhooks/generic/${t.workspaceIds[ev.lane]}?${query}`,
    init: { method: 'POST', headers: json, body: JSON.stringify({ drillId: ev.drillId, amount: 4200 }) },
  };
}

export interface SendResult {
  ev: PlannedEvent;
  acked: boolean;
  attempts: number;
  firstSentAt: number;
  ackedAt: number | null;
  /** outbound: the event id hookwise answered with. */
  eventId?: string;
  /** generic: accepted true/false. */
  accepted?: boolean;
  /** An answer that ends the retries without an ack (a 4xx, or ok: false): a bug or a drill mistake. */
  refused?: string;
}

export interface SenderStats {
  /** Every answer, by status code or by error ("ECONNRESET", "timeout"…), per kind. */
  answers: Record<Kind, Record<string, number>>;
  /** Requests sent, counting each retry. */
  requests: number;
  retries: number;
  inFlight: number;
  /** How long each acknowledging answer took, ms, per kind. */
  ackMs: Record<Kind, number[]>;
}

/** How long an API that refused a connection is left out (nginx's fail_timeout is 10 s). */
const MARK_DOWN_MS = 5_000;

const errorName = (e: unknown): string => {
  const err = e as { name?: string; code?: string; cause?: { code?: string; name?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timeout';
  return err?.cause?.code ?? err?.code ?? err?.cause?.name ?? err?.name ?? 'error';
};

export class Senders {
  readonly stats: SenderStats = {
    answers: { outbound: {}, room: {}, generic: {} },
    requests: 0,
    retries: 0,
    inFlight: 0,
    ackMs: { outbound: [], room: [], generic: [] },
  };
  private stopped = false;
  /** Per API: refused or reset connections mark it down for a while (a load balancer's passive health check). */
  private downUntil: number[] = [];

  constructor(
    private readonly target: Target,
    private readonly o: { timeoutMs: number; maxBackoffMs: number; seed: number },
  ) {}

  stop(): void {
    this.stopped = true;
  }

  private count(kind: Kind, answer: string): void {
    const a = this.stats.answers[kind];
    a[answer] = (a[answer] ?? 0) + 1;
  }

  /** Sends one event until it is acknowledged (or refused, or the drill stops). */
  async send(ev: PlannedEvent): Promise<SendResult> {
    const result: SendResult = { ev, acked: false, attempts: 0, firstSentAt: Date.now(), ackedAt: null };
    const random = mulberry32(this.o.seed + ev.index);
    this.stats.inFlight++;
    try {
      for (let attempt = 1; !this.stopped; attempt++) {
        result.attempts = attempt;
        this.stats.requests++;
        if (attempt > 1) this.stats.retries++;
        // Round robin over the APIs (a retry goes to the next one), skipping one that just refused
        // connections, as a load balancer with passive health checks would.
        const n = this.target.apiUrls.length;
        let api = (ev.index + attempt - 1) % n;
        for (let k = 0; k < n && (this.downUntil[api] ?? 0) > Date.now(); k++) api = (api + 1) % n;
        const { url, init } = requestFor(ev, this.target, api);
        let retry = false;
        const sentAt = Date.now();
        try {
          const res = await fetch(url, { ...init, signal: AbortSignal.timeout(this.o.timeoutMs) });
          const text = await res.text();
          this.count(ev.kind, String(res.status));
          if (res.status >= 500) {
            retry = true;
          } else if (res.status >= 300) {
            result.refused = `${res.status} ${text.slice(0, 200)}`;
            return result;
          } else {
            const body = JSON.parse(text);
            if (ev.kind === 'room' && body.ok !== true) {
              result.refused = `200 ${text.slice(0, 200)}`;
              return result;
            }
            if (ev.kind === 'outbound') result.eventId = body.id;
            if (ev.kind === 'generic') result.accepted = body.accepted === true;
            result.acked = true;
            result.ackedAt = Date.now();
            this.stats.ackMs[ev.kind].push(result.ackedAt - sentAt);
            return result;
          }
        } catch (e) {
          const name = errorName(e);
          this.count(ev.kind, name);
          if (['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(name)) this.downUntil[api] = Date.now() + MARK_DOWN_MS;
          retry = true;
        }
        if (retry) {
          // Exponential back-off with full jitter, like Stripe's and AWS's senders.
          const cap = Math.min(this.o.maxBackoffMs, 250 * 2 ** Math.min(attempt - 1, 10));
          await new Promise((r) => setTimeout(r, cap / 2 + random() * (cap / 2)));
        }
      }
      return result;
    } finally {
      this.stats.inFlight--;
    }
  }
}

/** Sends the plan at `rate` per second; resolves when every event has its final answer. */
export async function runLoad(plan: PlannedEvent[], rate: number, senders: Senders, onSent?: (n: number) => void): Promise<{ results: SendResult[]; startedAt: number; lastSendAt: number }> {
  const startedAt = Date.now();
  const pending: Array<Promise<SendResult>> = [];
  let next = 0;
  let lastSendAt = startedAt;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(plan.length, Math.floor(((Date.now() - startedAt) / 1000) * rate) + 1);
      while (next < due) {
        pending.push(senders.send(plan[next++]));
        lastSendAt = Date.now();
      }
      onSent?.(next);
      if (next >= plan.length) return resolve();
      setTimeout(tick, Math.max(1, Math.min(20, ((next / rate) * 1000) - (Date.now() - startedAt))));
    };
    tick();
  });
  const results = await Promise.all(pending);
  return { results, startedAt, lastSendAt };
}
