import type { Middleware } from 'koa';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Db } from '../db/pool.js';
import { findApiKeyByHash, findOrgById, isApiKeyActive } from '../db/orgs.js';
import { CAPABILITIES, hashApiKey, type Capability } from '../domain/api-keys.js';
import { AppError } from '../errors.js';
import { CAPABILITY } from './openapi.js';
import { bearerToken } from '../bearer-token.js';
import { DEFAULT_STREAM_KEY_RECHECK_SECONDS } from '../config.js';

export interface Principal {
  organizationId: string;
  capabilities: Capability[];
  /** An API key id or a JWT subject, for logs. */
  subject: string;
  /** When a login token expires (ms since the epoch), for streams that outlive the request; API keys don't. */
  expiresAt?: number;
  /** The API key behind it, which can be revoked while a stream it opened is still open. */
  apiKeyId?: string;
}

export interface AuthState {
  principal: Principal;
  /** For routes that outlive the request (the event stream): they re-check the principal as they go. */
  authenticator: Authenticator;
}

// A login token's role grants these capabilities.
const ROLE_CAPABILITIES: Record<string, Capability[]> = {
  owner: ['manage', 'send', 'read'],
  admin: ['manage', 'send', 'read'],
  member: ['send', 'read'],
  viewer: ['read'],
};

export interface AuthSettings {
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** How often a stream opened with an API key checks it is still unrevoked (HOOKWISE_STREAM_KEY_RECHECK_SECONDS). */
  keyRecheckMs?: number;
}

/**
 * `Authorization: Bearer …` carries either an API key (looked up by its SHA-256 hash) or a login JWT
 * verified against the JWKS, whose `org` and `role` claims give the org and the capabilities.
 */
export function createAuthenticator(db: Db, settings: AuthSettings) {
  const jwks = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl)) : null;

  async function fromJwt(token: string): Promise<Principal> {
    if (!jwks) throw new AppError('unauthorized', 'login tokens are not enabled (JWKS_URL is unset)');
    let claims: JWTPayload;
    try {
      // `exp` is required: a login token can't be revoked, so only its expiry ends what it opened.
      ({ payload: claims } = await jwtVerify(token, jwks, { issuer: settings.issuer, audience: settings.audience, requiredClaims: ['exp'] }));
    } catch (err) {
      throw new AppError('unauthorized', `invalid login token: ${(err as Error).message}`);
    }
    const orgId = (claims.org ?? claims.org_id ?? claims.organizationId) as string | undefined;
    const role = String(claims.role ?? '');
    // Own keys only: a role such as `constructor` or `__proto__` would find Object's built-ins.
    const capabilities = Object.hasOwn(ROLE_CAPABILITIES, role) ? ROLE_CAPABILITIES[role] : undefined;
    if (!orgId || !capabilities) {
      throw new AppError('unauthorized', 'login token must carry an `org` claim and a `role` of owner, admin, member or viewer');
    }
    const org = await findOrgById(db, orgId);
    if (!org) throw new AppError('unauthorized', 'login token names an unknown organization');
    // jwtVerify checked that `exp` is a number.
    return { organizationId: org.id, capabilities, subject: String(claims.sub ?? 'jwt'), expiresAt: (claims.exp as number) * 1000 };
  }

  async function fromApiKey(token: string): Promise<Principal> {
    const key = await findApiKeyByHash(db, hashApiKey(token));
    if (!key) throw new AppError('unauthorized', 'invalid API key');
    return {
      organizationId: key.organizationId,
      capabilities: key.capabilities.filter((c): c is Capability => (CAPABILITIES as readonly string[]).includes(c)),
      subject: key.id,
      apiKeyId: key.id,
    };
  }

  return {
    /** The principal behind a bearer token; throws `unauthorized`. */
    async principalFor(token: string): Promise<Principal> {
      const looksLikeJwt = token.split('.').length === 3 && token.startsWith('ey');
      return looksLikeJwt ? fromJwt(token) : fromApiKey(token);
    },

    /**
     * Whether a principal's API key is still unrevoked (a login token's end is its `exp`, see
     * src/api/stream/expiry.ts). One primary-key lookup.
     */
    async stillValid(principal: Principal): Promise<boolean> {
      return principal.apiKeyId === undefined || isApiKeyActive(db, principal.apiKeyId);
    },

    keyRecheckMs: settings.keyRecheckMs ?? DEFAULT_STREAM_KEY_RECHECK_SECONDS * 1000,
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

/** Routes a browser opens without setting headers (EventSource): they may carry `?access_token=`. */
const TOKEN_IN_QUERY = new Set(['/api/v1/events/stream']);

export function authenticate(authenticator: Authenticator): Middleware<AuthState> {
  return async (ctx, next) => {
    const fromQuery = TOKEN_IN_QUERY.has(ctx.path) && typeof ctx.query.access_token === 'string' ? ctx.query.access_token : null;
    const token = bearerToken(ctx.get('authorization')) ?? fromQuery;
    if (!token) throw new AppError('unauthorized', 'send Authorization: Bearer <api key or login token>');
    ctx.state.principal = await authenticator.principalFor(token);
    ctx.state.authenticator = authenticator;
    await next();
  };
}

export function hasCapability(principal: Principal, capability: Capability): boolean {
  return principal.capabilities.includes(capability);
}

export function requireCapability(capability: Capability): Middleware<AuthState> {
  const middleware: Middleware<AuthState> = async (ctx, next) => {
    if (!hasCapability(ctx.state.principal, capability)) {
      throw new AppError('forbidden', `this route needs the \`${capability}\` capability`, { required: capability });
    }
    await next();
  };
  // The OpenAPI document reads what each route needs from here.
  return Object.assign(middleware, { [CAPABILITY]: capability });
}

/** The caller's org, on routes behind `authenticate`. */
export function orgOf(ctx: { state: unknown }): string {
  return (ctx.state as AuthState).principal.organizationId;
}
