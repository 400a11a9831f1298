import type http from 'node:http';
import net from 'node:net';
import { describeForbiddenAddress, forbiddenAddressReason } from '../domain/target-policy.js';

/** Raised when a delivery would connect to a non-public address; its message is the user-facing reason. */
export class TargetRefusedError extends Error {
  readonly code = 'EHOOKWISE_TARGET_REFUSED';
}

type CreateConnection = (options: { host?: string; hostname?: string }, callback: (err: Error | null, socket?: net.Socket) => void) => net.Socket | undefined;

/**
 * The connect-time address check for IP-literal targets. A guarded agent checks hostnames in its DNS
 * lookup, but Node never calls `lookup` for an IP literal, so without this a literal would reach
 * `connect()` unchecked. It wraps the agent's own `createConnection`, so the refusal happens before any
 * socket is opened, on exactly the address that would be connected to.
 */
export function refuseForbiddenLiterals<A extends http.Agent>(agent: A): A {
  const target = agent as unknown as { createConnection: CreateConnection };
  const create = target.createConnection.bind(agent);
  target.createConnection = (options, callback) => {
    const host = (options.host ?? options.hostname ?? '').replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(host) !== 0) {
      const kind = describeForbiddenAddress(host);
      if (kind !== null) {
        callback(new TargetRefusedError(forbiddenAddressReason(host, kind)));
        return undefined;
      }
    }
    return create(options, callback);
  };
  return agent;
}
