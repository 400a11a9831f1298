import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../../src/config.js';
import { newId } from '../../src/domain/ids.js';
import { createApiKey } from '../../src/tenancy.js';
import { startHookwise, testEnv, type Hookwise } from '../support/hookwise.js';
import { expectError, expectNoServerErrors } from '../support/fixtures.js';
import { openSse } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

// Login tokens: JWTs verified against a real JWKS served on loopback; the `org` and `role` claims give
// the org and the capabilities. API keys keep working alongside.

const ISSUER = 'https://login.test';
const AUDIENCE = 'hookwise';
const KID = 'test-key-1';

let jwks: Server;
let jwksUrl: string;
let jwksHits = 0;
let signingKey: CryptoKey;
let foreignKey: CryptoKey;
let h: Hookwise;
let org: { orgId: string; key: string };

async function token(
  claims: Record<string, unknown>,
  o: { key?: CryptoKey; kid?: string; issuer?: string; audience?: string; exp?: number | string | null } = {},
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? KID })
    .setIssuer(o.issuer ?? ISSUER)
    .setAudience(o.audience ?? AUDIENCE)
    .setSubject('user-1')
    .setIssuedAt(typeof o.exp === 'number' ? o.exp - 600 : undefined);
  // exp: null leaves the claim out.
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? '5m');
  return jwt.sign(o.key ?? signingKey);
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  foreignKey = (await generateKeyPair('RS256')).privateKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  jwks = createServer((req, res) => {
    jwksHits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

  h = await startHookwise({
    worker: false,
    env: { JWKS_URL: jwksUrl, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE },
  });
  org = await h.newOrg();
});

afterEach(() => {
  expectNoServerErrors(h);
});

afterAll(async () => {
  await h?.stop();
  if (jwks) {
    jwks.closeAllConnections();
    await new Promise((r) => jwks.close(r));
  }
});

const hook = { url: 'http://127.0.0.1:9/jwt', events: ['*'] };

describe('login tokens (JWT + JWKS)', () => {
  it('an admin token can create and list webhooks of its org', async () => {
    const admin = await token({ org: org.orgId, role: 'admin' });
    const created = await h.request('POST', '/api/v1/webhooks', { key: admin, body: hook });
    expect(created.status, created.text).toBe(201);
    expect(created.body.organizationId).toBe(org.orgId);
    const list = await h.request('GET', '/api/v1/webhooks', { key: admin });
    expect(list.status).toBe(200);
    expect(list.body.data.map((w: any) => w.id)).toContain(created.body.id);
    expect(jwksHits).toBeGreaterThan(0); // verified against the served key set

    // The org's API key sees the same webhook: one org, two kinds of credentials.
    const viaKey = await h.request('GET', `/api/v1/webhooks/${created.body.id}`, { key: org.key });
    expect(viaKey.status).toBe(200);

    // An owner is an admin too; another org's admin does not see this org's webhook.
    const owner = await token({ org: org.orgId, role: 'owner' });
    expect((await h.request('GET', `/api/v1/webhooks/${created.body.id}`, { key: owner })).status).toBe(200);
    const other = await h.newOrg();
    const otherAdmin = await token({ org: other.orgId, role: 'admin' });
    expectError(await h.request('GET', `/api/v1/webhooks/${created.body.id}`, { key: otherAdmin }), 404, 'not_found');
    expect((await h.request('GET', '/api/v1/webhooks', { key: otherAdmin })).body.data).toEqual([]);
  });

  it('a viewer cannot manage webhooks (403)', async () => {
    const viewer = await token({ org: org.orgId, role: 'viewer' });
    expectError(await h.request('POST', '/api/v1/webhooks', { key: viewer, body: hook }), 403, 'forbidden');
    expectError(await h.request('GET', '/api/v1/webhooks', { key: viewer }), 403, 'forbidden');
    expectError(
      await h.request('POST', '/api/v1/events', { key: viewer, body: { type: 't', data: {} } }),
      403,
      'forbidden',
    );
  });

  it('a member can publish events (202) but not manage webhooks (403)', async () => {
    const o = await h.newOrg(); // no webhooks, so the event fans out to nothing
    const member = await token({ org: o.orgId, role: 'member' });
    const sent = await h.request('POST', '/api/v1/events', { key: member, body: { type: 'lead.created', data: { a: 1 } } });
    expect(sent.status, sent.text).toBe(202);
    expect(sent.body).toMatchObject({ organizationId: o.orgId, type: 'lead.created', deliveries: [] });
    expectError(await h.request('POST', '/api/v1/webhooks', { key: member, body: hook }), 403, 'forbidden');
    expectError(await h.request('GET', '/api/v1/webhooks', { key: member }), 403, 'forbidden');
  });

  it.each<[string, () => Promise<string>]>([
    ['expired', () => token({ org: org.orgId, role: 'admin' }, { exp: Math.floor(Date.now() / 1000) - 120 })],
    // It could never be revoked, and a stream it opened would never end.
    ['without an expiry (exp)', () => token({ org: org.orgId, role: 'admin' }, { exp: null })],
    ['for another audience', () => token({ org: org.orgId, role: 'admin' }, { audience: 'someone-else' })],
    ['from another issuer', () => token({ org: org.orgId, role: 'admin' }, { issuer: 'https://evil.test' })],
    ['signed by another key (same kid)', () => token({ org: org.orgId, role: 'admin' }, { key: foreignKey })],
    ['signed by another key (unknown kid)', () => token({ org: org.orgId, role: 'admin' }, { key: foreignKey, kid: 'nope' })],
    ['for an unknown org', () => token({ org: 'org_00000000000000000000000000', role: 'admin' })],
    ['without an org', () => token({ role: 'admin' })],
    ['with an unknown role', () => token({ org: org.orgId, role: 'superuser' })],
    // Names of Object's built-ins: found on a plain object's prototype, they once gave a 500.
    ['with the role constructor', () => token({ org: org.orgId, role: 'constructor' })],
    ['with the role toString', () => token({ org: org.orgId, role: 'toString' })],
    ['with the role __proto__', () => token({ org: org.orgId, role: '__proto__' })],
    [
      'unsigned (alg none)',
      async () => {
        const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ org: org.orgId, role: 'admin', iss: ISSUER, aud: AUDIENCE, exp: now + 300 })}.`;
      },
    ],
    [
      'tampered (claims changed after signing)',
      async () => {
        const good = await token({ org: org.orgId, role: 'viewer' });
        const [head, , sig] = good.split('.');
        const now = Math.floor(Date.now() / 1000);
        const body = Buffer.from(
          JSON.stringify({ org: org.orgId, role: 'admin', iss: ISSUER, aud: AUDIENCE, sub: 'user-1', exp: now + 300 }),
        ).toString('base64url');
        return `${head}.${body}.${sig}`;
      },
    ],
  ])('a token %s → 401 unauthorized', async (_name, make) => {
    const t = await make();
    const res = await h.request('GET', '/api/v1/webhooks', { key: t });
    expectError(res, 401, 'unauthorized');
    const post = await h.request('POST', '/api/v1/webhooks', { key: t, body: hook });
    expectError(post, 401, 'unauthorized');
  });
});

describe('organizations named like another’s id', () => {
  it('a login token, an API key and GET /me find the org by its id, never by another org’s name', async () => {
    // The impostor comes first, named after the id the real org then gets.
    const id = newId('org');
    await h.db.query(`INSERT INTO organizations (id, name) VALUES ($1, $2)`, [newId('org'), id]);
    await h.db.query(`INSERT INTO organizations (id, name) VALUES ($1, $2)`, [id, `real-${id}`]);
    const { key } = await createApiKey(h.db, id, ['read']);
    const admin = await token({ org: id, role: 'admin' });

    for (const credential of [admin, key]) {
      const me = await h.request('GET', '/api/v1/me', { key: credential });
      expect(me.status, me.text).toBe(200);
      expect(me.body.organization).toEqual({ id, name: `real-${id}` });
    }
    // The impostor's own name is no org id: a token naming it as its org is refused.
    const named = await token({ org: `real-${id}`, role: 'admin' });
    expectError(await h.request('GET', '/api/v1/me', { key: named }), 401, 'unauthorized');
  });
});

describe('configuration', () => {
  it('refuses JWKS_URL without JWT_AUDIENCE at start, naming the variable', () => {
    const env = testEnv({ JWKS_URL: 'https://login.test/.well-known/jwks.json' });
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/JWT_AUDIENCE: is required when JWKS_URL is set/);
    expect(loadConfig({ ...env, JWT_AUDIENCE: AUDIENCE }).JWT_AUDIENCE).toBe(AUDIENCE);
    // docker-compose's `JWT_AUDIENCE=` (empty) is unset, too.
    expect(() => loadConfig({ ...env, JWT_AUDIENCE: '' })).toThrow(/JWT_AUDIENCE/);
  });
});

describe('live streams opened with a login token', () => {
  it('SSE and WebSocket end when the token expires (WebSocket: 1008)', async () => {
    const o = await h.newOrg(); // no webhooks: the event fans out to nothing
    // Room for the event to arrive first on a loaded machine (3 s was not, under the full suite).
    const exp = Math.floor(Date.now() / 1000) + 6;
    const viewer = await token({ org: o.orgId, role: 'viewer' }, { exp });

    const sse = await openSse(`${h.baseUrl}/api/v1/events/stream`, { key: viewer });
    expect(sse.status).toBe(200);
    let sseEnded = 0;
    void sse.text().then(() => (sseEnded = Date.now()));
    const ws = new WebSocket(`${h.baseUrl.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${viewer}`);
    const messages: string[] = [];
    ws.on('message', (m) => messages.push(m.toString()));
    const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() })),
    );
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    try {
      // Both are live until then.
      const sent = await h.request('POST', '/api/v1/events', { key: o.key, body: { type: 'before.expiry', data: {} } });
      expect(sent.status, sent.text).toBe(202);
      await sse.waitForEvents(1);
      await waitFor(() => messages.length >= 1, { what: 'the WebSocket message' });

      await waitFor(() => sseEnded, { timeoutMs: 10_000, what: 'the SSE stream to end' });
      expect(sseEnded).toBeGreaterThanOrEqual(exp * 1000 - 50);
      const close = await closed;
      expect(close).toMatchObject({ code: 1008, reason: 'login token expired' });
      expect(close.at).toBeGreaterThanOrEqual(exp * 1000 - 50);
    } finally {
      sse.close();
      ws.terminate();
    }
  });
});
