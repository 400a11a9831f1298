import { createServer, type Server } from 'node:net';

/**
 * Finds `count` distinct free TCP ports on 127.0.0.1. All listeners are held open
 * until every port is known, so the same port is never returned twice; there is
 * still a small window before the caller binds them, which is acceptable for dev use.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('could not determine a free port');
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

/** Lowest and highest port Temporal's membership table can store (its port column is a smallint). */
export const LOW_PORTS = { min: 10_000, max: 32_767 } as const;

/**
 * Finds `count` distinct free TCP ports on 127.0.0.1 within [min, max], by binding random candidates.
 * `preferred[i]`, when given and free, is used for the i-th port (e.g. the usual 7233 for a frontend).
 * As with freePorts(), all listeners are held until every port is known.
 */
export async function freePortsInRange(
  count: number,
  preferred: Array<number | undefined> = [],
  range: { min: number; max: number } = LOW_PORTS,
): Promise<number[]> {
  const servers: Server[] = [];
  const taken = new Set<number>();
  const listen = (port: number) =>
    new Promise<boolean>((resolve) => {
      if (taken.has(port)) return resolve(false);
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
        servers.push(server);
        taken.add(port);
        resolve(true);
      });
    });
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const want = preferred[i];
      if (want !== undefined && (await listen(want))) {
        ports.push(want);
        continue;
      }
      for (let tries = 0; ; tries++) {
        if (tries > 1000) throw new Error(`could not find ${count} free ports between ${range.min} and ${range.max}`);
        const port = range.min + Math.floor(Math.random() * (range.max - range.min + 1));
        if (await listen(port)) {
          ports.push(port);
          break;
        }
      }
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** Whether `port` can be bound on `host` (all interfaces when omitted) right now. */
export function isPortFree(port: number, host?: string): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer();
    server.once('error', () => res(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => res(true)));
  });
}
