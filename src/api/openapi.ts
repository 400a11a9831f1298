import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { ruleSchema } from '../domain/rules.js';
import { VERSION } from '../version.js';

/**
 * The OpenAPI 3.1 document, built from the routers themselves: every route carries a `doc()`
 * middleware naming its summary and the same zod schemas its handler validates with, and its
 * capability middleware says what it needs. So the document lists the HTTP routes that are served,
 * with the request shapes that are enforced, and cannot drift from either (the WebSocket upgrade, the
 * console and the health and metrics routes are not routers' routes, and are not in it).
 */

export interface RouteDoc {
  summary: string;
  description?: string;
  /** The request body's schema (JSON), as the handler parses it. */
  body?: z.ZodType;
  /** The query string's schema, as the handler parses it. */
  query?: z.ZodType;
  /** Request headers the handler reads and validates (an object schema keyed by header name). */
  headers?: z.ZodType;
  /** The success status (200 unless given). */
  status?: number;
  /** What the success answer holds. */
  response?: string;
  /** Sender-facing routes: no bearer token (their own verification instead). */
  public?: boolean;
  /** The body is not JSON (form bodies, raw bytes a signature covers). */
  bodyContentTypes?: string[];
  /** Any path parameter is taken (an unknown one is answered in the body, not with a 404). */
  anyParams?: boolean;
  /** Errors this route answers besides the common ones (401, 403, 404, 422, 503), by status. */
  errors?: Record<number, string>;
}

const DOC = Symbol('openapi');
type Documented = Middleware & { [DOC]?: RouteDoc };

/** A no-op middleware that carries the route's documentation. */
export function doc(d: RouteDoc): Middleware {
  const m: Documented = (_ctx, next) => next();
  m[DOC] = d;
  return m;
}

/** Marks a middleware as requiring a capability, so the document can say so. */
export const CAPABILITY = Symbol('capability');

interface Layer {
  path: string | RegExp;
  methods: string[];
  paramNames: Array<{ name: string }>;
  stack: Array<Middleware & { [DOC]?: RouteDoc; [CAPABILITY]?: string }>;
}

/** Every route of these routers, as (method, path, layer); HEAD is Koa's answer to GET. */
export function routesOf(routers: Router[]): Array<{ method: string; path: string; layer: Layer }> {
  const out: Array<{ method: string; path: string; layer: Layer }> = [];
  for (const router of routers) {
    for (const layer of router.stack as unknown as Layer[]) {
      for (const method of layer.methods) if (method !== 'HEAD') out.push({ method, path: String(layer.path), layer });
    }
  }
  return out;
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: {
          type: 'string',
          enum: ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'method_not_allowed', 'conflict', 'payload_too_large', 'validation_error', 'unavailable', 'internal_error'],
        },
        message: { type: 'string' },
        details: { type: 'object' },
      },
    },
  },
};

/** JSON Schema (2020-12, as OpenAPI 3.1 uses) of a request schema's input side; rules become a reference. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema: js }) => {
      if (zodSchema !== ruleSchema) return;
      for (const k of Object.keys(js)) delete (js as Record<string, unknown>)[k];
      (js as Record<string, unknown>).$ref = '#/components/schemas/Rule';
    },
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/** The rule language (recursive): its own component, its self-references pointed at it. */
function ruleComponent(): Record<string, unknown> {
  const node = (ruleSchema as unknown as { _zod: { def: { out: z.ZodType } } })._zod.def.out;
  const text = JSON.stringify(jsonSchema(node)).replaceAll('"$ref":"#"', '"$ref":"#/components/schemas/Rule"');
  return JSON.parse(text);
}

const operationId = (method: string, path: string) =>
  (method.toLowerCase() + path.replace(/^\/api\/v1/, '').replace(/:([A-Za-z]+)/g, 'By_$1'))
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1)))
    .join('');

const tagOf = (path: string) => {
  if (!path.startsWith('/api/v1/')) return path.startsWith('/webhooks/') ? 'ingress' : 'operations';
  if (path.startsWith('/api/v1/webhooks/generic')) return 'ingress';
  return path.split('/')[3] ?? 'api';
};

export function openApiDocument(routers: Router[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, path, layer } of routesOf(routers)) {
    const d = layer.stack.find((m) => m[DOC])?.[DOC];
    const capability = layer.stack.find((m) => m[CAPABILITY])?.[CAPABILITY];
    const openPath = path.replace(/:([A-Za-z]+)/g, '{$1}');
    const paramSchema = d?.anyParams ? { type: 'string' } : { type: 'string', maxLength: 200 };
    const parameters: unknown[] = layer.paramNames.map((p) => ({ name: p.name, in: 'path', required: true, schema: paramSchema }));
    if (d?.query) {
      const q = jsonSchema(d.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema });
      }
    }
    if (d?.headers) {
      const h = jsonSchema(d.headers) as { properties?: Record<string, { description?: string }>; required?: string[] };
      for (const [name, { description, ...schema }] of Object.entries(h.properties ?? {})) {
        parameters.push({ name, in: 'header', required: h.required?.includes(name) ?? false, ...(description ? { description } : {}), schema });
      }
    }
    const status = String(d?.status ?? 200);
    const errors: Record<string, unknown> = {};
    const err = (code: number, description: string) => (errors[code] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
    if (!d?.public) err(401, 'No credentials, or bad credentials');
    if (capability) err(403, `The key lacks the \`${capability}\` capability`);
    if (layer.paramNames.length > 0 && !d?.anyParams) err(404, 'Not found (another org’s resources are not found either)');
    if (d?.body || d?.query || d?.headers) err(422, 'The request is invalid; `details.issues` lists each field');
    for (const [code, description] of Object.entries(d?.errors ?? {})) err(Number(code), description);
    err(503, 'Temporarily unavailable; retry');
    paths[openPath] ??= {};
    paths[openPath][method.toLowerCase()] = {
      operationId: operationId(method, path),
      summary: d?.summary ?? `${method} ${path}`,
      ...(d?.description ? { description: d.description } : {}),
      tags: [tagOf(path)],
      ...(d?.public ? { security: [] } : capability ? { 'x-capability': capability } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(d?.body || d?.bodyContentTypes
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(
                (d.bodyContentTypes ?? ['application/json']).map((type) => [type, { schema: d.body ? jsonSchema(d.body) : {} }]),
              ),
            },
          }
        : {}),
      responses: {
        [status]: { description: d?.response ?? 'Success', ...(status === '204' ? {} : { content: { 'application/json': { schema: { type: 'object' } } } }) },
        ...errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hookwise',
      version: VERSION,
      description: 'Webhooks for AI-agent products: outbound deliveries, inbound room events, the generic ingress, and their administration.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: [...new Set(Object.values(paths).flatMap((ops) => Object.values(ops).flatMap((o) => (o as { tags: string[] }).tags)))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (hw_…) or a login JWT' } },
      schemas: { Error: ERROR_SCHEMA, Rule: ruleComponent() },
    },
  };
}
