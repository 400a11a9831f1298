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

/**
 * What kind of non-public address `ip` is (e.g. "link-local"), or null for an ordinary unicast
 * address. Anything ipaddr.js does not classify as `unicast` counts, so new special-purpose ranges
 * are refused by default. `process()` first unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1 is loopback).
 */
export function describeForbiddenAddress(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return 'not a valid IP address';
  const range = ipaddr.process(ip).range();
  if (range === 'unicast') return null;
  return RANGE_WORDS[range] ?? `special-purpose (${range})`;
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
