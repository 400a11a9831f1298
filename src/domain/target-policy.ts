import ipaddr from 'ipaddr.js';

export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

const ALLOW_PRIVATE_HINT = 'set HOOKWISE_ALLOW_PRIVATE_TARGETS=true to allow it';

// Human words for ipaddr.js range names; anything unlisted is reported by its raw name.
const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local (private)',
  carrierGradeNat: 'carrier-grade NAT (shared private)',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  reserved: 'reserved',
};

// IPv6 forms whose address carries an IPv4 address inside it (and that some stack may route to it).
const EMBEDS_IPV4: Record<string, string> = {
  rfc6145: 'IPv4-translated (::ffff:0:a.b.c.d)',
  rfc6052: 'NAT64 (64:ff9b::/96, 64:ff9b:1::/48)',
  '6to4': '6to4 (2002::/16)',
  teredo: 'Teredo (2001::/32)',
};

// Global unicast: the only IPv6 block public targets come from.
const GLOBAL_UNICAST: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('2000::'), 3];

/**
 * What kind of non-public address `ip` is (e.g. "link-local"), or null for an ordinary public
 * unicast address. Anything ipaddr.js does not classify as `unicast` counts, so new special-purpose
 * ranges are refused by default.
 *
 * IPv6 is held to more: only global unicast (2000::/3) is public, and every form that embeds an IPv4
 * address (IPv4-mapped, IPv4-compatible `::a.b.c.d`, IPv4-translated, NAT64, 6to4, Teredo, ISATAP) is
 * refused even when the embedded address is public: what such an address reaches depends on the
 * network's translators, not on what it says. A public IPv4 target is written as IPv4.
 */
export function describeForbiddenAddress(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return 'not a valid IP address';
  const addr = ipaddr.parse(hexTail(ip));
  return addr.kind() === 'ipv4' ? describeIPv4(addr as ipaddr.IPv4) : describeIPv6(addr as ipaddr.IPv6);
}

/**
 * ipaddr.js reads `::a.b.c.d` as IPv4-mapped `::ffff:a.b.c.d`; glibc prints IPv4-compatible addresses
 * that way (dns.lookup answers `::127.0.0.1`). Spelling the dotted tail in hex first keeps each
 * form what it is.
 */
function hexTail(ip: string): string {
  const m = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(%.*)?$/.exec(ip);
  if (!m) return ip;
  const [a, b, c, d] = m.slice(2, 6).map(Number);
  if ([a, b, c, d].some((n) => n > 255)) return ip;
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}${m[6] ?? ''}`;
}

function describeIPv4(addr: ipaddr.IPv4): string | null {
  const range = addr.range();
  if (range === 'unicast') return null;
  return RANGE_WORDS[range] ?? `special-purpose (${range})`;
}

function describeIPv6(addr: ipaddr.IPv6): string | null {
  if (addr.isIPv4MappedAddress()) {
    const v4 = addr.toIPv4Address();
    const kind = describeIPv4(v4);
    return kind ? `${kind} (IPv4-mapped ${v4.toString()})` : `an IPv4-mapped IPv6 address (it embeds ${v4.toString()}; use that address itself)`;
  }
  const range = addr.range();
  if (EMBEDS_IPV4[range]) return `${EMBEDS_IPV4[range]}, which embeds an IPv4 address`;
  if (range !== 'unicast') return RANGE_WORDS[range] ?? `special-purpose (${range})`;
  const p = addr.parts;
  // ::/96 other than :: and ::1 (named above): the deprecated IPv4-compatible form, ::127.0.0.1 = ::7f00:1.
  if (p.slice(0, 6).every((part) => part === 0)) return 'IPv4-compatible (::a.b.c.d), which embeds an IPv4 address';
  // ISATAP interface ids: 0000:5efe or 0200:5efe, then the IPv4 address.
  if ((p[4] & 0xfdff) === 0 && p[5] === 0x5efe) return 'ISATAP (its interface id embeds an IPv4 address)';
  if (!addr.match(GLOBAL_UNICAST)) return 'outside global unicast (2000::/3)';
  return null;
}

export function isForbiddenAddress(ip: string): boolean {
  return describeForbiddenAddress(ip) !== null;
}

/** The refusal message for a forbidden address; shared with the sender's post-resolution check. */
export function forbiddenAddressReason(ip: string, kind: string, host?: string): string {
  const subject = host && host !== ip ? `target host ${host} resolves to ${ip}, which is` : `target address ${ip} is`;
  return `${subject} ${kind}; ${ALLOW_PRIVATE_HINT}`;
}

/**
 * Static checks on a webhook URL, before any DNS. Hostnames other than localhost pass here; the
 * sender re-checks the addresses they resolve to at connect time (that check closes DNS rebinding).
 */
export function checkTargetUrl(raw: string, o: { allowHttp: boolean; allowPrivate: boolean }): TargetCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'target url is not a valid absolute URL' };
  }

  if (url.protocol === 'http:') {
    if (!o.allowHttp) {
      return { ok: false, reason: 'target url must use https; set HOOKWISE_ALLOW_HTTP=true to allow plain http' };
    }
  } else if (url.protocol !== 'https:') {
    return { ok: false, reason: `target url scheme ${url.protocol.replace(/:$/, '')} is not supported; use https` };
  }

  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'target url must not contain credentials (user:password@)' };
  }

  if (!o.allowPrivate) {
    // WHATWG URL already normalised odd IPv4 spellings (2130706433, 0x7f.1) to dotted quads.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
    if (host === 'localhost' || host.endsWith('.localhost')) {
      return { ok: false, reason: `target host ${host} is loopback; ${ALLOW_PRIVATE_HINT}` };
    }
    if (ipaddr.isValid(host)) {
      const kind = describeForbiddenAddress(host);
      if (kind !== null) return { ok: false, reason: forbiddenAddressReason(host, kind) };
    }
  }

  return { ok: true, url };
}
