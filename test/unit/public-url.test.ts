import { describe, expect, it } from 'vitest';
import { publicBaseUrl, warnIfPublicUrlUnset } from '../../src/api/public-url.js';

const plain = { publicUrl: undefined, trustProxy: false };
const proxied = { publicUrl: undefined, trustProxy: true };
const req = (headers: Record<string, string | string[]>, encrypted = false) => ({ headers, encrypted });

describe('publicBaseUrl', () => {
  it('is HOOKWISE_PUBLIC_URL when set, whatever the request says', () => {
    const settings = { publicUrl: 'https://hooks.example.com', trustProxy: true };
    expect(publicBaseUrl(req({ host: 'evil.example', 'x-forwarded-host': 'evil.example', origin: 'https://evil.example' }), settings)).toBe(
      'https://hooks.example.com',
    );
  });

  it('is the Host header otherwise, and never the Origin header', () => {
    expect(publicBaseUrl(req({ host: '127.0.0.1:3000', origin: 'https://attacker.example' }), plain)).toBe('http://127.0.0.1:3000');
    expect(publicBaseUrl(req({ host: 'Hooks.Example.com' }, true), plain)).toBe('https://hooks.example.com');
    expect(publicBaseUrl(req({ host: '[::1]:8080' }), plain)).toBe('http://[::1]:8080');
    expect(publicBaseUrl(req({ host: 'example.com:80' }), plain)).toBe('http://example.com');
  });

  it('ignores X-Forwarded-Proto/-Host unless the proxy is trusted', () => {
    const headers = { host: 'internal:3000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hooks.example.com' };
    expect(publicBaseUrl(req(headers), plain)).toBe('http://internal:3000');
    expect(publicBaseUrl(req(headers), proxied)).toBe('https://hooks.example.com');
  });

  it('takes the first value of a proxy chain, and only http or https', () => {
    expect(publicBaseUrl(req({ host: 'h', 'x-forwarded-proto': 'HTTPS, http', 'x-forwarded-host': 'a.example, b.example' }), proxied)).toBe(
      'https://a.example',
    );
    expect(publicBaseUrl(req({ host: 'h', 'x-forwarded-proto': 'javascript' }), proxied)).toBe('http://h');
    expect(publicBaseUrl(req({ host: 'h', 'x-forwarded-proto': 'gopher' }, true), proxied)).toBe('https://h');
  });

  it('is null without a usable host', () => {
    for (const host of ['', 'a b', 'evil.example/path', 'user@evil.example', 'h:99999', 'h:1:2', 'a\u0000b', 'h?x', 'h#x']) {
      expect(publicBaseUrl(req({ host }), plain), host).toBeNull();
    }
    expect(publicBaseUrl(req({}), plain)).toBeNull();
  });
});

describe('warnIfPublicUrlUnset', () => {
  it('warns once when the URL is derived from Host, and says nothing when it is configured', () => {
    const lines: string[] = [];
    warnIfPublicUrlUnset({ HOOKWISE_PUBLIC_URL: undefined, HOOKWISE_TRUST_PROXY: false }, (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/HOOKWISE_PUBLIC_URL is unset.*Host header/);
    warnIfPublicUrlUnset({ HOOKWISE_PUBLIC_URL: 'https://x.example', HOOKWISE_TRUST_PROXY: false }, (l) => lines.push(l));
    expect(lines).toHaveLength(1);
  });
});
