import { setTimeout as sleep } from 'node:timers/promises';
/**
 * Retries a start-up step (migrations need PostgreSQL) until it succeeds, with a growing pause, so a
 * process started before its database waits for it instead of exiting.
 */
export async function untilItSucceeds<T>(what: string, fn: () => Promise<T>, log: (line: string) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const waitMs = Math.min(1000 * 2 ** (attempt - 1), 15_000);
      log(`${what} failed (${(err as Error).message}); retrying in ${waitMs / 1000}s`);
      await sleep(waitMs);
    }
  }
}
