import { describe, it, expect } from 'vitest';
import { checkTargetUrl, isForbiddenAddress } from '../../src/domain/target-policy.js';

const strict = { allowHttp: false, allowPrivate: false };
const reasonOf = (raw: string, o = strict) => {
  const r = checkTargetUrl(raw, o);
  return r.ok ? null : r.reason;
};

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '240.0.0.1',
    '192.0.2.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    '64:ff9b::7f00:1',
    'not-an-ip',
  ])('forbids %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('checkTargetUrl', () => {
  it('accepts a public https url and returns it parsed', () => {
    const r = checkTargetUrl('https://example.com/webhooks/leads?x=1', strict);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.url.pathname).toBe('/webhooks/leads');
  });

  it('refuses what does not parse', () => {
    expect(reasonOf('not a url')).toBe('target url is not a valid absolute URL');
    expect(reasonOf('/relative/path')).toBe('target url is not a valid absolute URL');
  });

  it('wants https unless plain http is allowed', () => {
    expect(reasonOf('http://example.com/')).toBe(
      'target url must use https; set HOOKWISE_ALLOW_HTTP=true to allow plain http',
    );
    expect(reasonOf('http://example.com/', { allowHttp: true, allowPrivate: false })).toBeNull();
  });

  it('refuses other schemes even when http is allowed', () => {
    expect(reasonOf('ftp://example.com/', { allowHttp: true, allowPrivate: true })).toBe(
      'target url scheme ftp is not supported; use https',
    );
    expect(reasonOf('file:///etc/passwd', { allowHttp: true, allowPrivate: true })).toMatch(/scheme file/);
  });

  it('refuses credentials in the url', () => {
    expect(reasonOf('https://user:pass@example.com/')).toMatch(/must not contain credentials/);
    expect(reasonOf('https://user@example.com/')).toMatch(/must not contain credentials/);
  });

  it('refuses the cloud metadata address with a readable reason', () => {
    expect(reasonOf('https://169.254.169.254/latest/meta-data/')).toBe(
      'target address 169.254.169.254 is link-local; set HOOKWISE_ALLOW_PRIVATE_TARGETS=true to allow it',
    );
  });

  it.each([
    ['https://127.0.0.1/', /127\.0\.0\.1 is loopback/],
    ['https://10.0.0.5:8443/', /10\.0\.0\.5 is private/],
    ['https://[::1]/', /::1 is loopback/],
    ['https://[::ffff:127.0.0.1]/', /is loopback/],
    ['https://[fd00::1]/', /unique-local/],
    ['https://2130706433/', /127\.0\.0\.1 is loopback/],
    ['https://0x7f.1/', /127\.0\.0\.1 is loopback/],
    ['https://0.0.0.0/', /0\.0\.0\.0 is unspecified/],
    ['https://localhost/', /target host localhost is loopback/],
    ['https://LOCALHOST./', /target host localhost is loopback/],
    ['https://api.localhost:3000/', /target host api\.localhost is loopback/],
  ])('refuses the private target %s', (raw, reason) => {
    expect(reasonOf(raw)).toMatch(reason);
    expect(reasonOf(raw)).toMatch(/HOOKWISE_ALLOW_PRIVATE_TARGETS=true/);
  });

  it('allows private targets when the deployment does', () => {
    const loose = { allowHttp: true, allowPrivate: true };
    expect(reasonOf('http://127.0.0.1:3000/hook', loose)).toBeNull();
    expect(reasonOf('http://localhost:3000/hook', loose)).toBeNull();
    expect(reasonOf('https://169.254.169.254/', loose)).toBeNull();
  });

  it('leaves hostnames to the connect-time check', () => {
    expect(reasonOf('https://internal.example.com/')).toBeNull();
  });
});
