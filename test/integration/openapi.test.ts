import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { startHookwise, type Hookwise } from '../support/hookwise.js';
import { listRoutes } from '../support/api-surface.js';

// GET /api/v1/openapi.json, read the way tooling reads it: validated as OpenAPI 3.1, turned into
// client types by a generator, and compared with the routes the server really serves.

let h: Hookwise;
let document: any;

beforeAll(async () => {
  h = await startHookwise({ worker: false });
  const res = await fetch(`${h.baseUrl}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  document = await res.json();
});
afterAll(async () => {
  await h?.stop();
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    expect(document.openapi).toBe('3.1.0');
    // Dereferences every $ref and validates against the 3.1 schema; throws on any error.
    await SwaggerParser.validate(structuredClone(document));
  });

  it('lists every route the server serves, and no route it does not', () => {
    const served = listRoutes().map((r) => `${r.method} ${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect([...documented].sort()).toEqual([...new Set(served)].sort());
    // Every operation has a real summary, a unique id and documented errors.
    const ops = Object.values(document.paths as Record<string, Record<string, any>>).flatMap((o) => Object.values(o));
    expect(ops.every((o) => typeof o.summary === 'string' && !/^(GET|POST|PUT|PATCH|DELETE) \//.test(o.summary))).toBe(true);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
  });

  it('carries the request validators’ own schemas and each route’s capability', () => {
    const create = document.paths['/api/v1/webhooks'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['url', 'events']);
    expect(body.properties.url).toMatchObject({ type: 'string', maxLength: 2048 });
    expect(body.additionalProperties).toBe(false);
    expect(create['x-capability']).toBe('manage');
    expect(create.responses['201']).toBeDefined();
    expect(create.responses['422'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    // The rule language, recursive, as a component that filters and definitions both use.
    expect(body.properties.filter.anyOf[0]).toEqual({ $ref: '#/components/schemas/Rule' });
    expect(JSON.stringify(document.components.schemas.Rule)).toContain('#/components/schemas/Rule');
    const list = document.paths['/api/v1/deliveries'].get;
    expect(list.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['status', 'webhookId', 'eventType', 'since', 'until', 'cursor', 'limit']));
    expect(document.paths['/api/v1/events'].post['x-capability']).toBe('send');
    // Sender-facing routes need no bearer token.
    expect(document.paths['/webhooks/{token}'].post.security).toEqual([]);
    // An unknown token is answered 200 {ok: false}: no 404, and any token is taken.
    expect(Object.keys(document.paths['/webhooks/{token}'].post.responses).sort()).toEqual(['200', '503']);
    expect(document.paths['/webhooks/{token}'].post.parameters[0].schema).toEqual({ type: 'string' });
    expect(document.paths['/api/v1/webhooks/generic/{workspaceId}'].post.security).toEqual([]);
    // Route-specific refusals are documented where they happen.
    expect(Object.keys(document.paths['/api/v1/workspaces/{id}'].delete.responses)).toContain('409');
    expect(Object.keys(document.paths['/api/v1/webhooks/{id}/test'].post.responses)).toContain('409');
    expect(Object.keys(document.paths['/api/v1/events/stream'].get.responses)).toContain('429');
    expect(Object.keys(document.paths['/api/v1/workspaces'].post.responses)).not.toContain('409');
  });

  it('generates a typed client', async () => {
    const types = astToString(await openapiTS(structuredClone(document)));
    expect(types).toContain('"/api/v1/webhooks"');
    expect(types).toContain('postWebhooks');
    expect(types).toMatch(/url: string/);
  });
});
