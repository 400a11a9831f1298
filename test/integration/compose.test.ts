import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../src/config.js';
import { TEMPORAL_SERVER, TEMPORAL_UI, withoutV } from '../../src/dev/temporal-versions.js';
import { DYNAMIC_CONFIG } from '../../src/dev/temporal-server-config.js';
import { shutdownGraceMs } from '../../src/roots/worker.js';

// docker-compose.yml can't be run here (no Docker engine), so what can drift is checked instead:
// hookwise's commands and variables against the code, Temporal's images against the local tooling.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, unknown> | string[];
  restart?: string;
  ports?: string[];
  init?: boolean;
  stop_grace_period?: string;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; configs: Record<string, { content: string }> };
const services = Object.entries(compose.services);
// hookwise's own services are the ones built from this repository's Dockerfile.
const hookwise = services.filter(([, s]) => s.build !== undefined);
const imageOf = (repository: string) => services.map(([, s]) => s.image ?? '').filter((image) => image.split(':')[0] === repository);
const tagOf = (image: string) => image.split(':')[1] ?? 'latest';
const words = (v: string | string[] | undefined) => (Array.isArray(v) ? v : (v ?? '').split(/\s+/)).filter(Boolean);

describe('docker-compose.yml', () => {
  it('has the API and the worker', () => {
    expect(hookwise.map(([name]) => name).sort()).toEqual(['hookwise-api', 'hookwise-worker']);
  });

  it.each(hookwise)('%s runs the build of an entry point that exists in the repository', (_name, service) => {
    const scripts = words(service.command).filter((w) => /\.(ts|js)$/.test(w));
    expect(scripts).toHaveLength(1);
    // The image runs `npm run build`'s output: dist/<path>.js compiled from <path>.ts.
    expect(scripts[0]).toMatch(/^dist\/.*\.js$/);
    const source = scripts[0].replace(/^dist\//, '').replace(/\.js$/, '.ts');
    expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
  });

  it.each(hookwise)('%s sets only variables src/config.ts knows', (_name, service) => {
    const env = service.environment ?? {};
    const names = Array.isArray(env) ? env.map((e) => e.split('=')[0]) : Object.keys(env);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !CONFIG_VARIABLES.includes(n))).toEqual([]);
  });

  it.each(hookwise)('%s restarts unless stopped', (_name, service) => {
    expect(service.restart).toBe('unless-stopped');
  });

  it('runs the Temporal server and UI versions the local tooling builds', () => {
    const server = withoutV(TEMPORAL_SERVER.version);
    expect(imageOf('temporalio/server').map(tagOf)).toEqual([server]);
    // The admin tools (SQL tool and schema) must be the server's release: e.g. 1.29.1-tctl-….
    const adminTools = imageOf('temporalio/admin-tools').map(tagOf);
    expect(adminTools.length).toBeGreaterThan(0);
    for (const tag of adminTools) expect(tag === server || tag.startsWith(`${server}-`), `admin-tools ${tag} is ${server}`).toBe(true);
    expect(imageOf('temporalio/ui').map(tagOf)).toEqual([withoutV(TEMPORAL_UI.version)]);
    // auto-setup is the older image that set up its own schema; this file uses the SQL tool instead.
    expect(imageOf('temporalio/auto-setup')).toEqual([]);
  });

  it('sets up both Temporal schemas with the SQL tool before the server starts', () => {
    const [, job] = services.find(([, s]) => words(s.command).join(' ').includes('temporal-sql-tool'))!;
    const script = words(job.command).join(' ');
    for (const dir of ['temporal/versioned', 'visibility/versioned']) expect(script).toContain(`update-schema -d /etc/temporal/${TEMPORAL_SERVER.schemaDir}/${dir}`);
    const temporal = compose.services.temporal as Service & { depends_on: Record<string, { condition: string }> };
    const [jobName] = services.find(([, s]) => s === job)!;
    expect(temporal.depends_on[jobName]).toEqual({ condition: 'service_completed_successfully' });
    expect(temporal.restart).toBe('unless-stopped');
  });

  it.each(hookwise)('%s runs under an init process, so signals reach it', (_name, service) => {
    expect(service.init).toBe(true);
  });

  it('gives the worker time to finish its deliveries when stopped: the longest grace plus the force time', () => {
    const grace = compose.services['hookwise-worker'].stop_grace_period ?? '10s';
    const [, n, unit] = /^(\d+)(s|m)$/.exec(grace)!;
    const seconds = Number(n) * (unit === 'm' ? 60 : 1);
    expect(seconds * 1000).toBeGreaterThanOrEqual(shutdownGraceMs({ HOOKWISE_DELIVERY_TIMEOUT_MS: 90_000 }) + 10_000);
  });

  it('publishes Temporal’s frontend and UI, which have no authentication, on loopback only', () => {
    for (const name of ['temporal', 'temporal-ui']) {
      const ports = compose.services[name].ports ?? [];
      for (const p of ports) expect(p, `${name} ${p}`).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('passes the settings a deployment needs from the environment to both processes', () => {
    const env = compose.services['hookwise-worker'].environment as Record<string, unknown>;
    for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'JWKS_URL', 'JWT_AUDIENCE', 'JWT_ISSUER', 'HOOKWISE_PUBLIC_URL', 'HOOKWISE_METRICS_TOKEN']) {
      expect(env[name], name).toBe(`\${${name}:-}`);
    }
    expect(compose.services['hookwise-api'].environment).toEqual(env);
  });

  it("gives the Temporal server the same dynamic config as the local engine's", () => {
    expect(parse(compose.configs['temporal-dynamic-config'].content)).toEqual(parse(DYNAMIC_CONFIG));
  });
});
