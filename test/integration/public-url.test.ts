import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { orgApi, twilioSignature } from '../support/fixtures.js';
import { rawRequest } from '../support/raw-http.js';

// Where hookwise takes its own URL from when HOOKWISE_PUBLIC_URL is unset: the Host header (and,
// only with HOOKWISE_TRUST_PROXY, X-Forwarded-Proto/-Host); never the caller's Origin header.

const AUTH_TOKEN = 'twilio_auth_token_public_url_0123';
const ATTACKER = 'https://attacker.example';

/** Twilio's recipe, with this file's auth token. */
const twilioSign = (url: string, params: Record<string, string>) => twilioSignature(AUTH_TOKEN, url, params);

const params = { AccountSid: 'AC0123', MessageSid: 'SM0001', From: '+15550001111', To: '+15550002222', Body: 'hello' };

async function roomSetup(h: Hookwise) {
  const api = await orgApi(h);
  const ws = await api.create('/api/v1/workspaces', { name: 'public url' });
  const room = await api.create(`/api/v1/workspaces/${ws.id}/rooms`, { name: 'room', instructions: 'x', twilioAuthToken: AUTH_TOKEN });
  return { key: api.key, roomId: room.id as string };
}

function postTwilio(h: Hookwise, roomId: string, signedUrl: string, headers: Record<string, string> = {}) {
  return rawRequest(h.baseUrl, {
    method: 'POST',
    path: `/webhooks/channel/twilio/${roomId}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSign(signedUrl, params),
      ...headers,
    },
    body: new URLSearchParams(params).toString(),
  });
}

function createSource(h: Hookwise, key: string, roomId: string, headers: Record<string, string> = {}) {
  return rawRequest(h.baseUrl, {
    method: 'POST',
    path: `/api/v1/rooms/${roomId}/event-sources`,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ name: 'src' }),
  });
}

describe('without HOOKWISE_PUBLIC_URL or a trusted proxy', () => {
  let h: Hookwise;
  let s: { key: string; roomId: string };
  beforeAll(async () => {
    h = await startHookwise({ worker: false });
    s = await roomSetup(h);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a genuine Twilio request (no Origin) signed over the URL it called → 200', async () => {
    const res = await postTwilio(h, s.roomId, `${h.baseUrl}/webhooks/channel/twilio/${s.roomId}`);
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain('<Response>');
  });

  it('a forged Origin with a signature over the forged host → 403', async () => {
    const res = await postTwilio(h, s.roomId, `${ATTACKER}/webhooks/channel/twilio/${s.roomId}`, { origin: ATTACKER });
    expect(res.status, res.text).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('X-Forwarded-Proto/-Host are not believed: a signature over the forwarded URL → 403', async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'attacker.example' };
    expect((await postTwilio(h, s.roomId, `${ATTACKER}/webhooks/channel/twilio/${s.roomId}`, forwarded)).status).toBe(403);
    expect((await postTwilio(h, s.roomId, `${h.baseUrl}/webhooks/channel/twilio/${s.roomId}`, forwarded)).status).toBe(200);
  });

  it('the Host header decides the URL Twilio is checked against', async () => {
    const res = await postTwilio(h, s.roomId, `http://hooks.example.com/webhooks/channel/twilio/${s.roomId}`, {
      host: 'hooks.example.com',
    });
    expect(res.status, res.text).toBe(200);
  });

  it('an event source URL is built from Host and ignores Origin and X-Forwarded-*', async () => {
    const res = await createSource(h, s.key, s.roomId, {
      origin: ATTACKER,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'attacker.example',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.url).toBe(`${h.baseUrl}/webhooks/${res.body.token}`);

    const regenerated = await rawRequest(h.baseUrl, {
      method: 'POST',
      path: `/api/v1/event-sources/${res.body.id}/regenerate-token`,
      headers: { authorization: `Bearer ${s.key}`, origin: ATTACKER, host: 'hooks.example.com:8443' },
    });
    expect(regenerated.status, regenerated.text).toBe(200);
    expect(regenerated.body.url).toBe(`http://hooks.example.com:8443/webhooks/${regenerated.body.token}`);
  });

  it('a Host that is not a host → 400, not a URL built from it, and nothing changed', async () => {
    const sources = async () => (await h.request('GET', `/api/v1/rooms/${s.roomId}/event-sources`, { key: s.key })).body.data;
    const before = await sources();
    const res = await createSource(h, s.key, s.roomId, { host: 'attacker.example/evil?' });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
    expect(await sources()).toEqual(before);

    // The old token keeps working: regenerating with a bad Host replaced nothing.
    const created = await createSource(h, s.key, s.roomId);
    const regenerated = await rawRequest(h.baseUrl, {
      method: 'POST',
      path: `/api/v1/event-sources/${created.body.id}/regenerate-token`,
      headers: { authorization: `Bearer ${s.key}`, host: 'a b' },
    });
    expect(regenerated.status, regenerated.text).toBe(400);
    const still = await rawRequest(h.baseUrl, {
      method: 'POST',
      path: `/webhooks/${created.body.token}`,
      headers: { 'content-type': 'application/json' },
      body: '{"type": "x"}',
    });
    expect(still.body).toMatchObject({ ok: true });
  });
});

describe('with HOOKWISE_TRUST_PROXY=true', () => {
  let h: Hookwise;
  let s: { key: string; roomId: string };
  beforeAll(async () => {
    h = await startHookwise({ worker: false, env: { HOOKWISE_TRUST_PROXY: 'true' } });
    s = await roomSetup(h);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("X-Forwarded-Proto/-Host from the proxy are the public URL; Origin still isn't", async () => {
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hooks.example.com', origin: ATTACKER };
    const twilio = await postTwilio(h, s.roomId, `https://hooks.example.com/webhooks/channel/twilio/${s.roomId}`, forwarded);
    expect(twilio.status, twilio.text).toBe(200);
    expect((await postTwilio(h, s.roomId, `${ATTACKER}/webhooks/channel/twilio/${s.roomId}`, forwarded)).status).toBe(403);

    const source = await createSource(h, s.key, s.roomId, forwarded);
    expect(source.status, source.text).toBe(201);
    expect(source.body.url).toBe(`https://hooks.example.com/webhooks/${source.body.token}`);
  });
});

describe('with HOOKWISE_PUBLIC_URL', () => {
  let h: Hookwise;
  let s: { key: string; roomId: string };
  beforeAll(async () => {
    h = await startHookwise({ worker: false, env: { HOOKWISE_PUBLIC_URL: 'https://public.example.com/', HOOKWISE_TRUST_PROXY: 'true' } });
    s = await roomSetup(h);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('the configured URL wins over Host, X-Forwarded-* and Origin', async () => {
    const headers = { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'proxy.example', origin: ATTACKER, host: 'other.example' };
    expect((await postTwilio(h, s.roomId, `https://public.example.com/webhooks/channel/twilio/${s.roomId}`, headers)).status).toBe(200);
    expect((await postTwilio(h, s.roomId, `http://proxy.example/webhooks/channel/twilio/${s.roomId}`, headers)).status).toBe(403);
    const source = await createSource(h, s.key, s.roomId, headers);
    expect(source.body.url).toBe(`https://public.example.com/webhooks/${source.body.token}`);
  });
});
