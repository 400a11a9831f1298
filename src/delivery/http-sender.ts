import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkTargetUrl, describeForbiddenAddress, forbiddenAddressReason } from '../domain/target-policy.js';
import { refuseForbiddenLiterals, TargetRefusedError } from './connect-guard.js';

/**
 * The outcome of one delivery attempt. It succeeded when `error` is null and `statusCode` is 2xx;
 * `statusCode` can be set together with an error when the response started but did not finish
 * (e.g. the timeout hit while reading its body).
 */
export type SendResult = {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  retryAfterSeconds: number | null;
  responseBody: string | null;
};

const RESPONSE_BODY_CHARS = 1024;
// Drain up to this much so the keep-alive socket can be reused; past it, cut the connection.
const DRAIN_LIMIT_CHARS = 64 * 1024;


/**
 * Resolve like the default lookup; when `guard` is set, refuse if any address the name resolves to
 * is not public. It runs inside the connect, so the address checked is the one connected to: a DNS
 * answer that changes between validation and delivery (rebinding) cannot slip through. Every address
 * is checked, not just the first, because the socket may try several (happy eyeballs). Both agent
 * kinds resolve through here so that the only difference between them is the check.
 */
function makeLookup(guard: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      if (guard) {
        for (const { address } of addresses) {
          const kind = describeForbiddenAddress(address);
          if (kind !== null) {
            return callback(new TargetRefusedError(forbiddenAddressReason(address, kind, hostname)), '', 0);
          }
        }
      }
      // net asks for every address when it races families (autoSelectFamily), else for one.
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      if (addresses.length === 0) {
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      }
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

// One pooled agent per (protocol, allowPrivate): the guarded ones must never hand out a socket
// that an unguarded request opened. Guarded agents check resolved names in their lookup and IP
// literals (for which Node skips the lookup) in refuseForbiddenLiterals.
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 256 };
const agents = {
  http: {
    open: new http.Agent({ ...AGENT_OPTIONS, lookup: makeLookup(false) }),
    guarded: refuseForbiddenLiterals(new http.Agent({ ...AGENT_OPTIONS, lookup: makeLookup(true) })),
  },
  https: {
    open: new https.Agent({ ...AGENT_OPTIONS, lookup: makeLookup(false) }),
    guarded: refuseForbiddenLiterals(new https.Agent({ ...AGENT_OPTIONS, lookup: makeLookup(true) })),
  },
};

/**
 * POST one webhook delivery. Never throws for network or HTTP trouble: every failure comes back as
 * a readable `error`, so the caller only has to decide whether to retry. Redirects are not followed
 * (a 3xx is reported as is), and the timeout covers connect, response and body together.
 */
export async function postWebhook(o: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allowHttp: boolean;
  allowPrivate: boolean;
}): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  const target = checkTargetUrl(o.url, { allowHttp: o.allowHttp, allowPrivate: o.allowPrivate });
  if (!target.ok) {
    return { statusCode: null, latencyMs: 0, error: target.reason, retryAfterSeconds: null, responseBody: null };
  }
  const url = target.url;
  const isHttps = url.protocol === 'https:';
  const pool = isHttps ? agents.https : agents.http;
  const agent = o.allowPrivate ? pool.open : pool.guarded;

  // We own Content-Length: a stale custom value would corrupt the request framing.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(o.headers)) {
    if (name.toLowerCase() !== 'content-length') headers[name] = value;
  }
  headers['Content-Length'] = String(Buffer.byteLength(o.body, 'utf8'));

  return new Promise<SendResult>((resolve) => {
    let statusCode: number | null = null;
    let retryAfterSeconds: number | null = null;
    let responseBody: string | null = null;
    let done = false;
    let req: http.ClientRequest | undefined;

    const finish = (error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ statusCode, latencyMs: elapsed(), error, retryAfterSeconds, responseBody });
    };

    const timer = setTimeout(() => {
      finish(`timeout after ${o.timeoutMs} ms`);
      req?.destroy();
    }, o.timeoutMs);

    try {
      req = (isHttps ? https : http).request(url, { method: 'POST', headers, agent });
    } catch (err) {
      // Header names/values Node rejects (they come from stored customHeaders): a per-webhook
      // configuration problem, reported like any other failed attempt.
      finish(`invalid request: ${(err as Error).message}`);
      return;
    }

    req.on('error', (err) => finish(describeNetworkError(err, url.hostname)));

    req.on('response', (res) => {
      statusCode = res.statusCode ?? null;
      if (statusCode === 429 || statusCode === 503) {
        retryAfterSeconds = parseRetryAfter(res.headers['retry-after'], Date.now());
      }
      let text = '';
      let drained = 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < RESPONSE_BODY_CHARS) text += chunk.slice(0, RESPONSE_BODY_CHARS - text.length);
        drained += chunk.length;
        responseBody = text;
        if (drained > DRAIN_LIMIT_CHARS) {
          // We have what we keep; stop downloading a large body and let the socket go.
          finish(null);
          res.destroy();
        }
      });
      res.on('end', () => {
        responseBody = text;
        finish(null);
      });
      res.on('error', (err) => finish(`response interrupted: ${describeNetworkError(err, url.hostname)}`));
      // Server closed mid-body without an 'error' event.
      res.on('close', () => {
        if (!res.complete) finish('response interrupted: connection closed before the body ended');
      });
    });

    req.end(o.body);
  });
}

function describeNetworkError(err: Error, host: string): string {
  if (err instanceof TargetRefusedError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  // OpenSSL messages carry line breaks; results end up in one-line logs and API fields.
  const message = err.message.replace(/\s+/g, ' ').trim();
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${host} (ECONNREFUSED)`;
    case 'ECONNRESET':
      return `connection reset by ${host} (ECONNRESET)`;
    case 'ENOTFOUND':
      return `could not resolve host ${host} (ENOTFOUND)`;
    case 'EAI_AGAIN':
      return `DNS lookup for ${host} failed temporarily (EAI_AGAIN)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${host} is unreachable (${code})`;
    case 'ETIMEDOUT':
      return `connection to ${host} timed out (ETIMEDOUT)`;
    default:
      if (code && /CERT|SSL|TLS|EPROTO/.test(code)) return `TLS error: ${message} (${code})`;
      return code ? `${message} (${code})` : message;
  }
}

/** Retry-After as delta-seconds or an HTTP-date; null when absent or unparseable. */
function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
