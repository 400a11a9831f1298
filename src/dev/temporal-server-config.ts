import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePortsInRange } from './free-port.js';

// The configuration of a Temporal server on one machine, on PostgreSQL. It follows the server
// module's config/development-postgres12.yaml, minus its archival sections, with our ports,
// databases and dynamic config. Written as JSON (which is YAML) to <dir>/development.yaml, the file
// `server --root <dir> --config . --env development start` reads.

export const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** Every service's ports; all below 32768 (the membership table stores ports as smallint). */
export interface ServicePorts {
  frontend: { grpc: number; membership: number; http: number };
  history: { grpc: number; membership: number };
  matching: { grpc: number; membership: number };
  worker: { grpc: number; membership: number };
}

/** Per server process: pprof and Prometheus metrics (each process needs its own). */
export interface ProcessPorts {
  pprof: number;
  metrics: number;
}

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface TemporalDatabases {
  /** Temporal's own state (executions, history, task queues, membership…). */
  main: string;
  visibility: string;
}

/** Picks free ports for every service; the frontend gets `preferredFrontend` (e.g. 7233) when it is free. */
export async function pickServicePorts(preferredFrontend?: number): Promise<ServicePorts> {
  const p = await freePortsInRange(9, [preferredFrontend]);
  return {
    frontend: { grpc: p[0], membership: p[1], http: p[2] },
    history: { grpc: p[3], membership: p[4] },
    matching: { grpc: p[5], membership: p[6] },
    worker: { grpc: p[7], membership: p[8] },
  };
}

export async function pickProcessPorts(): Promise<ProcessPorts> {
  const [pprof, metrics] = await freePortsInRange(2);
  return { pprof, metrics };
}

export const frontendAddress = (ports: ServicePorts): string => `127.0.0.1:${ports.frontend.grpc}`;

export interface ServerConfigOptions {
  ports: ServicePorts;
  process: ProcessPorts;
  postgres: PostgresTarget;
  databases: TemporalDatabases;
  dynamicConfigFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export function serverConfig(o: ServerConfigOptions): Record<string, unknown> {
  const sql = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${o.postgres.host}:${o.postgres.port}`,
      connectProtocol: 'tcp',
      user: o.postgres.user,
      password: o.postgres.password,
      // The template's 20 per process is sized for a dedicated database server; here PostgreSQL is
      // shared with hookwise's own pools (and, in the cluster, with three more server processes).
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (p: { grpc: number; membership: number; http?: number }) => ({
    rpc: {
      grpcPort: p.grpc,
      membershipPort: p.membership,
      ...(p.http !== undefined ? { httpPort: p.http } : {}),
      bindOnLocalHost: true,
    },
  });
  return {
    log: { stdout: true, level: o.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'postgres-default': sql(o.databases.main, 10),
        'postgres-visibility': sql(o.databases.visibility, 2),
      },
    },
    global: {
      // The services find each other through the cluster_membership table, then ringpop.
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      pprof: { port: o.process.pprof },
      metrics: {
        prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${o.process.metrics}` },
      },
    },
    services: {
      frontend: rpc(o.ports.frontend),
      matching: rpc(o.ports.matching),
      history: rpc(o.ports.history),
      worker: rpc(o.ports.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontendAddress(o.ports) },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
}

/**
 * hookwise's dynamic config: only what hookwise needs from the server, and what makes it responsive
 * on one machine. Everything else keeps Temporal's defaults. The production engine reads it as a file
 * (DYNAMIC_CONFIG), the CLI's dev server as `--dynamic-config-value` arguments (dynamicConfigArgs), and
 * docker-compose.yml carries a copy that test/integration/compose.test.ts keeps equal.
 */
export const DYNAMIC_SETTINGS: ReadonlyArray<{ key: string; value: boolean | number; why: string }> = [
  {
    key: 'history.transferProcessorMaxPollRPS',
    value: 1000,
    why: `The transfer queue hands new workflow and activity tasks to matching. Its reader is throttled to 20
polls per second per shard by default, which adds 25-40 ms to task hand-offs under a steady trickle
of work.`,
  },
  {
    key: 'system.enableActivityEagerExecution',
    value: true,
    why: `An activity a workflow task schedules on its own task queue goes back to that worker in the reply
to the task's completion ("eager" dispatch), when the worker has a free slot, instead of through
matching and a second poll: one round trip less per delivery attempt and agent run, and one task
less for matching to hand over under load. Off by default in the server; the SDK asks for it.`,
  },
  {
    key: 'frontend.namespaceRPS.visibility',
    value: 100,
    why: `Visibility (list/count workflows) is limited to 10 requests per second per namespace by default; the
UI's polling and operators' searches use it. The dev server uses 100.`,
  },
];

export const DYNAMIC_CONFIG =
  "# Dynamic config of hookwise's local Temporal server (written by src/dev/temporal-server-config.ts).\n" +
  DYNAMIC_SETTINGS.map(({ key, value, why }) => `${why ? `\n${why.replace(/^/gm, '# ')}\n` : ''}${key}:\n  - value: ${value}\n`).join('');

/** The same settings as arguments of `temporal server start-dev`. */
export function dynamicConfigArgs(): string[] {
  return DYNAMIC_SETTINGS.flatMap(({ key, value }) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

/** Writes <dir>/development.yaml for one server process. */
export async function writeServerConfig(dir: string, o: ServerConfigOptions): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'development.yaml'), JSON.stringify(serverConfig(o), null, 2) + '\n', { mode: 0o600 });
}

export async function writeDynamicConfig(file: string): Promise<void> {
  await writeFile(file, DYNAMIC_CONFIG);
}

/** The arguments that start `services` of a server whose config is in `configDir`. */
export function serverArgs(configDir: string, services: readonly TemporalService[] | 'all'): string[] {
  const args = ['--root', configDir, '--config', '.', '--env', 'development', '--allow-no-auth', 'start'];
  // Without --service, `start` runs every service in one process.
  if (services !== 'all') for (const s of services) args.push('--service', s);
  return args;
}
