import { Client, Connection } from '@temporalio/client';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
}

/**
 * A lazily connecting client: the API starts (and answers /healthz) even while Temporal is down, and
 * /readyz reports it.
 */
export function createTemporalClient(s: TemporalSettings): Client {
  const connection = Connection.lazy({ address: s.address });
  return new Client({ connection, namespace: s.namespace });
}

export async function temporalReachable(client: Client, timeoutMs = 2_000): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflowService.getSystemInfo({}),
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Bounds a workflow start or signal that a caller may be waiting on. Unbounded, an unreachable
 * Temporal holds it through the client's connection retries (~20 s, past many senders' 10 s
 * timeouts); 5 s leaves room for a loaded server. The work is in PostgreSQL already, and the recovery
 * loop starts what this gave up on.
 */
export const START_DEADLINE_MS = 5_000;

export function startWithinDeadline<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + START_DEADLINE_MS, fn);
}
