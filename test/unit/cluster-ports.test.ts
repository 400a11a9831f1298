import { expect, it } from 'vitest';
import { clusterPortNames, workerPortEnv } from '../../src/dev/cluster-ports.js';

// `npm run start:cluster` runs two workers on one machine. Each serves /metrics and /healthz on
// HOOKWISE_METRICS_PORT; left at its default (9464) for both, the second worker failed to listen,
// exited, and was restarted by the supervisor forever.

it('gives every worker of the cluster its own metrics and health port', () => {
  const names = clusterPortNames({ apis: 2, workers: 2 });
  expect(new Set(names).size).toBe(names.length);
  expect(names).toContain('worker-1.metrics');
  expect(names).toContain('worker-2.metrics');

  const ports = Object.fromEntries(names.map((n, i) => [n, 20_000 + i]));
  const env1 = workerPortEnv(ports, 1);
  const env2 = workerPortEnv(ports, 2);
  expect(env1.HOOKWISE_METRICS_PORT).toBe(String(ports['worker-1.metrics']));
  expect(env2.HOOKWISE_METRICS_PORT).toBe(String(ports['worker-2.metrics']));
  expect(env1.HOOKWISE_METRICS_PORT).not.toBe(env2.HOOKWISE_METRICS_PORT);
});

it('refuses a worker whose port was not chosen, rather than falling back to the shared default', () => {
  expect(() => workerPortEnv({}, 3)).toThrow(/worker-3\.metrics/);
});
