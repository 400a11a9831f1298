import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { startReceiver } from '../support/receiver.js';
import { waitFor } from '../support/wait.js';

// The API here accepts any target, so the worker's check after DNS resolution is what is tested:
// the one that holds even when a hostname starts resolving to a private address after creation.
let h: Hookwise;
let key: string;
beforeAll(async () => {
  h = await startHookwise({ workerEnv: { HOOKWISE_ALLOW_PRIVATE_TARGETS: 'false' } });
  ({ key } = await h.newOrg());
});
afterAll(async () => {
  await h.stop();
});

describe('private targets are refused at delivery time', () => {
  it.each([
    ['loopback', (port: number) => `http://127.0.0.1:${port}/hook`, /127\.0\.0\.1 is loopback/],
    ['localhost', (port: number) => `http://localhost:${port}/hook`, /localhost is loopback/],
    ['a hostname resolving to loopback', (port: number) => `http://${hostname()}:${port}/hook`, /resolves to 127\.\d+\.\d+\.\d+, which is loopback/],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is link-local/],
  ])('%s', async (_name, url, reason) => {
    const receiver = await startReceiver();
    const webhook = await h.request('POST', '/api/v1/webhooks', {
      key,
      body: { url: url(receiver.port), events: ['ssrf.check'], retryPolicy: { attempts: 1 } },
    });
    expect(webhook.status).toBe(201);
    const published = await h.request('POST', '/api/v1/events', { key, body: { type: 'ssrf.check', data: {} } });
    const dead = await waitFor(async () => {
      const d = (await h.request('GET', `/api/v1/deliveries/${published.body.deliveries[0]}`, { key })).body;
      return d.status === 'dead' ? d : null;
    });
    expect(dead.attempts[0].statusCode).toBeNull();
    expect(dead.attempts[0].error).toMatch(reason);
    expect(dead.attempts[0].error).toMatch(/HOOKWISE_ALLOW_PRIVATE_TARGETS/);
    expect(receiver.requests).toHaveLength(0);
    await h.request('DELETE', `/api/v1/webhooks/${webhook.body.id}`, { key });
    await receiver.close();
  });
});
