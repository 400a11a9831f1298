import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testEnv } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { kill } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { createPool } from '../../src/db/pool.js';
import { createOrgWithKey } from '../../src/tenancy.js';
import { spawn, type ChildProcess } from 'node:child_process';

// The production build (`npm run build`, what the image runs): compiled JavaScript started with plain
// `node` (no tsx), and workers that load the workflow bundle made at build time instead of bundling.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `.hookwise/build-test-${process.pid}`;
const children: ChildProcess[] = [];

beforeAll(() => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/dev/build.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOOKWISE_BUILD_DIR: OUT },
    encoding: 'utf8',
  });
  expect(result.status, result.stderr).toBe(0);
}, 300_000);
afterAll(async () => {
  for (const c of children) await kill(c);
  await rm(join(ROOT, OUT), { recursive: true, force: true });
});

function start(entry: 'api' | 'worker', env: Record<string, string>) {
  // Plain node: a .ts import anywhere would fail to load.
  const child = spawn(process.execPath, [join(OUT, `src/main/${entry}.js`)], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return () => output;
}

it('builds dist with compiled entry points, the migrations and a prebuilt workflow bundle', () => {
  for (const file of ['src/main/api.js', 'src/main/worker.js', 'src/cli/main.js', 'workflow-bundle.js', 'package.json', 'src/db/migrations/0001_outbound_webhooks.sql']) {
    expect(existsSync(join(ROOT, OUT, file)), file).toBe(true);
  }
  // Local tooling is not part of it.
  expect(existsSync(join(ROOT, OUT, 'src/dev'))).toBe(false);
});

it('runs from the build with plain node: the API answers, and a worker on the prebuilt bundle delivers', async () => {
  // Not the test run's bundle: the one the build made.
  const { HOOKWISE_WORKFLOW_BUNDLE: _runBundle, ...env } = testEnv({ PORT: String(20_000 + Math.floor(Math.random() * 9_000)) });
  const apiOutput = start('api', env);
  const workerOutput = start('worker', env);
  const base = `http://127.0.0.1:${env.PORT}`;
  await waitFor(() => fetch(`${base}/readyz`).then((r) => r.status === 200, () => false), { timeoutMs: 60_000, what: `the built API (${apiOutput()})` });
  await waitFor(() => /prebuilt bundle \([^)]*workflow-bundle\.js\)/.test(workerOutput()), { timeoutMs: 60_000, what: `the built worker (${workerOutput()})` });

  const db = createPool(env.DATABASE_URL, 1);
  const receiver = await startReceiver();
  try {
    const { apiKey } = await createOrgWithKey(db, `build-${process.pid}-${Date.now()}`);
    const call = (path: string, body: unknown) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await call('/api/v1/webhooks', { url: receiver.url, events: ['*'] })).status).toBe(201);
    expect((await call('/api/v1/events', { type: 'built', data: {} })).status).toBe(202);
    await waitFor(() => receiver.requests.length === 1, { timeoutMs: 60_000, what: 'the delivery by the built worker' });
    expect(JSON.parse(receiver.requests[0].body).type).toBe('built');
  } finally {
    await receiver.close();
    await db.end();
  }
  expect(apiOutput() + workerOutput()).not.toMatch(/tsx|ERR_UNKNOWN_FILE_EXTENSION/);
}, 120_000);
