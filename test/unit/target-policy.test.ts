import { describe, it, expect } from 'vitest';
import { checkTargetUrl, describeForbiddenAddress, isForbiddenAddress } from '../../src/domain/target-policy.js';

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

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2606:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001::200e'])(
    'allows %s',
    (ip) => {
      expect(isForbiddenAddress(ip)).toBe(false);
    },
  );
});

describe('IPv6: only global unicast, and nothing that embeds an IPv4 address', () => {
  it.each([
    // The defect: ::127.0.0.1 (stored as ::7f00:1) was classified as ordinary unicast.
    ['::7f00:1', /IPv4-compatible/],
    ['::127.0.0.1', /IPv4-compatible/],
    ['0:0:0:0:0:0:127.0.0.1', /IPv4-compatible/],
    ['::a00:1', /IPv4-compatible/],
    ['::808:808', /IPv4-compatible/], // even when the embedded address (8.8.8.8) is public
    ['::ffff:7f00:1', /loopback \(IPv4-mapped 127\.0\.0\.1\)/],
    ['::ffff:8.8.8.8', /IPv4-mapped IPv6 address \(it embeds 8\.8\.8\.8/],
    ['::ffff:0:7f00:1', /IPv4-translated/],
    ['64:ff9b::7f00:1', /NAT64/],
    ['64:ff9b::808:808', /NAT64/],
    ['64:ff9b:1::1', /NAT64/],
    ['2002:7f00:1::', /6to4/],
    ['2002:808:808::1', /6to4/],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
    ['2a00:1450:4001::5efe:a00:1', /ISATAP/],
    ['2a00:1450:4001:0:200:5efe:a00:1', /ISATAP/],
    ['fe80::1', /link-local/],
    ['fc00::1', /unique-local/],
    ['fec0::1', /deprecatedSiteLocal/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /reserved/],
    ['100::1', /discard/],
    ['4000::1', /outside global unicast \(2000::\/3\)/],
    ['e000::1', /outside global unicast/],
    ['1::1', /outside global unicast/],
  ])('refuses %s (%s)', (ip, reason) => {
    expect(describeForbiddenAddress(ip)).toMatch(reason);
  });

  it.each([
    ['https://[::ffff:7f00:1]/', /::ffff:7f00:1 is loopback/],
    ['https://[::127.0.0.1]:8443/a', /::7f00:1 is IPv4-compatible/],
    ['https://[0:0:0:0:0:0:127.0.0.1]/', /::7f00:1 is IPv4-compatible/],
    ['https://[2002:7f00:1::]/', /6to4/],
    ['https://[64:ff9b::7f00:1]/', /NAT64/],
    ['https://[fe80::1]/', /link-local/],
    ['https://[fc00::1]/', /unique-local/],
    ['https://[::]/', /unspecified/],
  ])('checkTargetUrl refuses %s with a clear reason', (raw, reason) => {
    const r = checkTargetUrl(raw, strict);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(reason);
      expect(r.reason).toMatch(/HOOKWISE_ALLOW_PRIVATE_TARGETS=true/);
    }
  });

  it('accepts a public IPv6 literal', () => {
    expect(checkTargetUrl('https://[2606:4700::1111]/hook', strict).ok).toBe(true);
    expect(checkTargetUrl('https://[2606:4700:4700::1111]:8443/hook', strict).ok).toBe(true);
  });

  it('leaves every IPv6 form alone when private targets are allowed', () => {
    expect(checkTargetUrl('https://[::127.0.0.1]/', { allowHttp: false, allowPrivate: true }).ok).toBe(true);
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
