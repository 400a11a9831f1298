import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refuseForbiddenLiterals, TargetRefusedError } from '../../src/delivery/connect-guard.js';

// Node never calls an agent's `lookup` for an IP literal, so the DNS-time check can't see these;
// the guard on the agent's createConnection must refuse them before a socket exists.
let server: http.Server;
let port: number;
let connections = 0;
beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('reached'));
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function get(url: string, agent: http.Agent): Promise<{ status?: number; error?: Error }> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    const req = mod.request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (error) => resolve({ error }));
    req.end();
  });
}

describe('refuseForbiddenLiterals', () => {
  it.each([
    ['http://127.0.0.1:PORT/', http.Agent, /target address 127\.0\.0\.1 is loopback/],
    ['https://[::ffff:127.0.0.1]:PORT/', https.Agent, /::ffff:7f00:1 is loopback/],
    ['http://[::127.0.0.1]:PORT/', http.Agent, /::7f00:1 is IPv4-compatible/],
    ['http://169.254.169.254/latest/meta-data/', http.Agent, /169\.254\.169\.254 is link-local/],
  ])('refuses %s before connecting', async (raw, Agent, reason) => {
    const before = connections;
    const result = await get(raw.replace('PORT', String(port)), refuseForbiddenLiterals(new Agent()));
    expect(result.error).toBeInstanceOf(TargetRefusedError);
    expect(result.error!.message).toMatch(reason);
    expect(connections).toBe(before);
  });

  it('lets hostnames through to the lookup (which has its own check) and leaves unguarded agents alone', async () => {
    expect(await get(`http://localhost:${port}/`, refuseForbiddenLiterals(new http.Agent()))).toEqual({ status: 200 });
    expect(await get(`http://127.0.0.1:${port}/`, new http.Agent())).toEqual({ status: 200 });
  });
});
