import { describe, expect, it } from 'vitest';
import { OUTAGE_PAUSE_MAX_MS, outagePauseMs } from '../../workflows/outages.js';

// Temporal ends a workflow whose history reaches 51,200 events (the server's default
// limit.historyCount.error); each round of waiting out a database outage writes about 11 (the activity's
// scheduled/started/failed, the timer's started/fired, two workflow tasks of three events each).
const HISTORY_LIMIT = 51_200;
const EVENTS_PER_ROUND = 11;

/** History events an agent run writes while PostgreSQL stays down for `outageMs`. */
function historyEventsThrough(outageMs: number): number {
  // The agent run's own retries (1 s, then 2 s) before each pause; the fastest failure makes the most rounds.
  const retriesMs = 3_000;
  let elapsed = 0;
  let rounds = 0;
  while (elapsed < outageMs) elapsed += retriesMs + outagePauseMs(rounds++);
  return rounds * EVENTS_PER_ROUND;
}

describe('outagePauseMs', () => {
  it('starts at 5 s, so a short outage (a PostgreSQL restart) costs seconds', () => {
    expect(outagePauseMs(0)).toBe(5_000);
  });

  it('doubles each round up to 5 minutes', () => {
    expect(Array.from({ length: 9 }, (_, round) => outagePauseMs(round) / 1000)).toEqual([5, 10, 20, 40, 80, 160, 300, 300, 300]);
    expect(OUTAGE_PAUSE_MAX_MS).toBe(300_000);
  });

  it('keeps a workflow waiting out a week-long outage under Temporal history limit (a fixed 5 s reached it in ~10 hours)', () => {
    const day = 24 * 3_600_000;
    expect(historyEventsThrough(7 * day)).toBeLessThan(HISTORY_LIMIT / 2);
    expect(historyEventsThrough(14 * day)).toBeLessThan(HISTORY_LIMIT);
  });
});
