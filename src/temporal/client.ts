import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { setTimeout as sleep } from 'node:timers/promises';

// The gRPC status codes this module tells apart (grpc.io status codes).
const GrpcStatus = { INVALID_ARGUMENT: 3, ALREADY_EXISTS: 6, UNAVAILABLE: 14 } as const;

/** What every piece of code that starts or signals workflows gets: the client and where to send work. */
export interface Temporal {
  client: Client;
  namespace: string;
  taskQueue: string;
  /** Registers hookwise's search attributes (once per process; again after a failure). */
  ready(): Promise<void>;
}

/**
 * A lazily connecting client: the API starts (and answers /healthz) even while Temporal is down, and
 * /readyz reports it.
 */
export function createTemporal(s: { address: string; namespace: string; taskQueue: string }): Temporal {
  const connection = Connection.lazy({ address: s.address });
  const client = new Client({ connection, namespace: s.namespace });
  let registered: Promise<void> | null = null;
  return {
    client,
    namespace: s.namespace,
    taskQueue: s.taskQueue,
    ready() {
      registered ??= registerSearchAttributes(client, s.namespace).catch((err) => {
        registered = null;
        throw err;
      });
      return registered;
    },
  };
}

/** The longest wait for newly registered attributes to be taken (the server's namespace cache refreshes every 2 s). */
const USABLE_WITHIN_MS = 30_000;

/**
 * Adds hookwise's custom search attributes to the namespace (those that exist already are fine), then
 * waits until the server takes them. It reads them from a namespace cache it refreshes every 2 s, so
 * a start right after the registration could be refused for naming an unknown attribute. (Servers set
 * up for tests often bypass that cache instead, `system.forceSearchAttributesCacheRefreshOnRead`; that
 * reads the namespace from the database, under one lock, for every start, upsert and visibility
 * record, which a production engine can't afford.)
 */
async function registerSearchAttributes(client: Client, namespace: string): Promise<void> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((a) => !(a.name in (customAttributes ?? {})));
  if (missing.length > 0) {
    try {
      await client.connection.operatorService.addSearchAttributes({
        namespace,
        // 2 = INDEXED_VALUE_TYPE_KEYWORD; every hookwise attribute is a keyword.
        searchAttributes: Object.fromEntries(missing.map((a) => [a.name, 2])),
      });
    } catch (err) {
      // Another process registered them between our list and add.
      if (!(isGrpcServiceError(err) && err.code === GrpcStatus.ALREADY_EXISTS)) throw err;
    }
  }
  // Also when they were listed: another process may have registered them a moment ago.
  const query = SEARCH_ATTRIBUTES.map((a) => `${a.name} = ''`).join(' AND ');
  for (const deadline = Date.now() + USABLE_WITHIN_MS; ; ) {
    try {
      await client.workflowService.countWorkflowExecutions({ namespace, query });
      return;
    } catch (err) {
      if (!(isGrpcServiceError(err) && err.code === GrpcStatus.INVALID_ARGUMENT) || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

export async function temporalReachable(client: Client, timeoutMs = 2_000): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () => client.workflowService.getSystemInfo({}));
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

export function withinDeadline<T>(client: Client, fn: () => Promise<T>, ms = START_DEADLINE_MS): Promise<T> {
  return client.connection.withDeadline(Date.now() + ms, fn);
}

/** The gRPC status behind a client error, if there is one. */
export function grpcCode(err: unknown): number | null {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return null;
}

/** Temporal cannot be reached at all: no point trying more starts right now. */
export function isTemporalUnreachable(err: unknown): boolean {
  const code = grpcCode(err);
  return code === GrpcStatus.UNAVAILABLE || /connect|ECONNREFUSED|unavailable/i.test((err as Error)?.message ?? '');
}

/**
 * Temporal refuses this request for good (a malformed id, an argument it will never accept): retrying
 * it cannot help. Unknown search attributes are not counted: they appear while registration is still
 * spreading through the cluster.
 */
export function isPermanentRefusal(err: unknown): boolean {
  return grpcCode(err) === GrpcStatus.INVALID_ARGUMENT && !/search attribute/i.test((err as Error)?.message ?? '');
}
