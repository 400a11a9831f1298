import { TEMPORAL_SERVICES } from './temporal-server-config.js';

// The ports of `npm run start:cluster`, by name. Every listening socket of every process has its own:
// two processes of one role on one machine must never share a port (a hookwise worker serves
// /metrics and /healthz on HOOKWISE_METRICS_PORT, whose default is the same for every worker).

export interface ClusterShape {
  apis: number;
  workers: number;
}

export function clusterPortNames({ apis, workers }: ClusterShape): string[] {
  const names = ['postgres', 'temporal-ui'];
  for (const s of TEMPORAL_SERVICES) {
    names.push(`temporal-${s}.grpc`, `temporal-${s}.membership`, `temporal-${s}.pprof`, `temporal-${s}.metrics`);
    if (s === 'frontend') names.push('temporal-frontend.http');
  }
  for (let i = 1; i <= apis; i++) names.push(`api-${i}`);
  for (let i = 1; i <= workers; i++) names.push(`worker-${i}.metrics`);
  return names;
}

/** What worker `index` (1-based) adds to its environment: its own metrics and health port. */
export function workerPortEnv(ports: Record<string, number>, index: number): { HOOKWISE_METRICS_PORT: string } {
  const port = ports[`worker-${index}.metrics`];
  if (port === undefined) throw new Error(`no port chosen for worker-${index}.metrics`);
  return { HOOKWISE_METRICS_PORT: String(port) };
}
