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
    // IP literals never go through the DNS lookup; IPv6 forms that embed an IPv4 address are refused.
    ['an IPv4-compatible IPv6 literal', (port: number) => `http://[::127.0.0.1]:${port}/hook`, /::7f00:1 is IPv4-compatible/],
    ['an IPv4-mapped IPv6 literal', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`, /::ffff:7f00:1 is loopback/],
    ['a NAT64 literal', (port: number) => `http://[64:ff9b::7f00:1]:${port}/hook`, /64:ff9b::7f00:1 is NAT64/],
    ['a link-local IPv6 literal', (port: number) => `http://[fe80::1]:${port}/hook`, /fe80::1 is link-local/],
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

describe('private targets are refused when a webhook is created', () => {
  let strict: Hookwise;
  let strictKey: string;
  beforeAll(async () => {
    strict = await startHookwise({ worker: false, env: { HOOKWISE_ALLOW_PRIVATE_TARGETS: 'false', HOOKWISE_ALLOW_HTTP: 'false' } });
    ({ key: strictKey } = await strict.newOrg());
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it.each([
    ['https://[::127.0.0.1]:8443/a', /::7f00:1 is IPv4-compatible/],
    ['https://[0:0:0:0:0:0:127.0.0.1]/a', /::7f00:1 is IPv4-compatible/],
    ['https://[::ffff:7f00:1]/a', /loopback/],
    ['https://[::ffff:8.8.8.8]/a', /IPv4-mapped/],
    ['https://[2002:7f00:1::]/a', /6to4/],
    ['https://[64:ff9b::7f00:1]/a', /NAT64/],
    ['https://[fe80::1]/a', /link-local/],
    ['https://[fc00::1]/a', /unique-local/],
    ['https://[::]/a', /unspecified/],
  ])('%s → 422', async (url, reason) => {
    for (const [method, path, body] of [
      ['POST', '/api/v1/webhooks', { url, events: ['*'] }],
      ['POST', '/api/v1/chatbots/bot/webhooks', { url, eventTypes: ['x'] }],
    ] as const) {
      const res = await strict.request(method, path, { key: strictKey, body });
      expect(res.status, res.text).toBe(422);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.message).toMatch(reason);
    }
  });

  it('a public IPv6 literal is accepted', async () => {
    const res = await strict.request('POST', '/api/v1/webhooks', { key: strictKey, body: { url: 'https://[2606:4700::1111]/a', events: ['*'] } });
    expect(res.status, res.text).toBe(201);
  });

  it('PATCHing a webhook to such a target → 422', async () => {
    const created = await strict.request('POST', '/api/v1/webhooks', { key: strictKey, body: { url: 'https://example.com/a', events: ['*'] } });
    const res = await strict.request('PATCH', `/api/v1/webhooks/${created.body.id}`, { key: strictKey, body: { url: 'https://[::127.0.0.1]/a' } });
    expect(res.status, res.text).toBe(422);
  });
});
