import type { Context } from 'koa';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

/**
 * The base URL senders use to reach this deployment (event source URLs, the URL Twilio signs).
 * In order: HOOKWISE_PUBLIC_URL; else the request's Host, with X-Forwarded-Proto and
 * X-Forwarded-Host only when HOOKWISE_TRUST_PROXY says a proxy in front sets them. Never the
 * `Origin` header: that is the caller's own page, and anyone can send any value in it.
 */
export interface PublicUrlSettings {
  /** HOOKWISE_PUBLIC_URL without a trailing slash. */
  publicUrl: string | undefined;
  trustProxy: boolean;
}

export interface RequestFacts {
  /** Node's lower-cased request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** Whether this server terminated TLS itself. */
  encrypted: boolean;
}

export function publicBaseUrl(req: RequestFacts, settings: PublicUrlSettings): string | null {
  if (settings.publicUrl) return settings.publicUrl;
  const forwardedProto = settings.trustProxy ? firstValue(req.headers['x-forwarded-proto'])?.toLowerCase() : undefined;
  const proto = forwardedProto === 'http' || forwardedProto === 'https' ? forwardedProto : req.encrypted ? 'https' : 'http';
  const host = (settings.trustProxy ? firstValue(req.headers['x-forwarded-host']) : undefined) ?? firstValue(req.headers.host);
  return host ? originOf(proto, host) : null;
}

/** The same for a Koa request; a request without a usable Host (HTTP/1.0, garbage) is a 400. */
export function publicBaseUrlOf(ctx: Context, settings: PublicUrlSettings): string {
  const base = publicBaseUrl({ headers: ctx.req.headers, encrypted: Boolean((ctx.req.socket as { encrypted?: boolean }).encrypted) }, settings);
  if (base === null) {
    throw new AppError('bad_request', 'the Host header is missing or not a valid host; set HOOKWISE_PUBLIC_URL to the URL senders use');
  }
  return base;
}

/** Logs, once at start-up, where URLs come from when HOOKWISE_PUBLIC_URL is unset. */
export function warnIfPublicUrlUnset(
  config: Pick<Config, 'HOOKWISE_PUBLIC_URL' | 'HOOKWISE_TRUST_PROXY'>,
  log: (line: string) => void = console.warn,
): void {
  if (config.HOOKWISE_PUBLIC_URL) return;
  log(
    `warning: HOOKWISE_PUBLIC_URL is unset, so event source URLs and Twilio signature checks use the request's Host header` +
      (config.HOOKWISE_TRUST_PROXY ? ' (or X-Forwarded-Host/-Proto, as HOOKWISE_TRUST_PROXY is on)' : '') +
      '; set HOOKWISE_PUBLIC_URL to the URL senders use to reach hookwise',
  );
}

/** First of a comma-separated list (proxies append; the first is what the client sent), trimmed. */
function firstValue(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  const first = raw?.split(',')[0].trim();
  return first ? first : undefined;
}

/**
 * `proto://host[:port]`, normalised as a browser would (lower case, default port dropped), when `host`
 * is only a host and an optional port; null for anything else (paths, user info, spaces…).
 */
function originOf(proto: string, host: string): string | null {
  if (!/^[A-Za-z0-9.\-_~:[\]]+$/.test(host)) return null;
  try {
    return new URL(`${proto}://${host}`).origin;
  } catch {
    return null;
  }
}
