import type { Context } from 'koa';
import { doc } from '../openapi.js';
import {
  findRoom,
  findWorkspace,
  insertRoom,
  insertWorkspace,
  listRooms,
  listWorkspaces,
  changeIngressKeys,
  changeTwilioAuthKeys,
  deleteEmptyWorkspace,
  deleteRoom,
  renameWorkspace,
  updateRoom,
} from '../../db/workspaces.js';
import { activeKeys, rotateKeys, singleKey, type SigningKey } from '../../domain/signing-keys.js';
import { generateWebhookSecret } from '../../domain/secrets.js';
import {
  deleteDefinition,
  findDefinition,
  findEventSource,
  insertDefinition,
  insertEventSource,
  listDefinitions,
  listEventSources,
  replaceToken,
  changeVerification,
  deleteEventSource,
  renameEventSource,
  updateDefinition,
} from '../../db/event-sources.js';
import { backlogCounters, listBacklog } from '../../db/backlog.js';
import { matchLog } from '../../db/room-events.js';
import { appendMessage, roomChat } from '../../db/chats.js';
import { newId } from '../../domain/ids.js';
import { generateSourceToken, hashToken } from '../../domain/tokens.js';
import { AppError, notFound } from '../../errors.js';
import { wakeRoomScheduler } from '../../flows/room-scheduler.js';
import { withTransaction } from '../../db/pool.js';
import { orgOf, requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { publicBaseUrlOf } from '../public-url.js';
import { presentDefinition, presentItem, presentRoom, presentSource, presentWorkspace } from './presenter.js';
import {
  backlogQuery,
  definitionSchema,
  definitionUpdateSchema,
  eventSourceSchema,
  eventSourceUpdateSchema,
  matchLogQuery,
  replySchema,
  roomSchema,
  roomUpdateSchema,
  twilioAuthTokenSchema,
  verificationSchema,
  workspaceSchema,
} from './schema.js';

/** When the last key a rotation kept beside the new one stops verifying; null when none is left. */
function previousKeysExpireAt(keys: readonly SigningKey<unknown>[] | null, nowMs: number): number | null {
  const previous = activeKeys(keys ?? [], nowMs).slice(1);
  return previous.length ? Math.max(...previous.map((k) => k.expiresAt ?? nowMs)) : null;
}

/** Definitions one event source may hold (each description-only one can go into a model's prompt). */
export const MAX_DEFINITIONS_PER_SOURCE = 200;

export function roomRoutes(router: ApiRouter, deps: ApiDeps): void {
  const { db, secretBox } = deps;
  // How long a rotated-out secret keeps verifying, for every kind this router rotates.
  const overlapMs = deps.config.HOOKWISE_SECRET_ROTATION_OVERLAP_SECONDS * 1000;
  const manage = requireCapability('manage');
  const read = requireCapability('read');

  async function room(ctx: Context) {
    const found = await findRoom(db, orgOf(ctx), ctx.params.id);
    if (!found) throw notFound('room');
    return found;
  }
  async function source(ctx: Context) {
    const found = await findEventSource(db, orgOf(ctx), ctx.params.id);
    if (!found) throw notFound('event source');
    return found;
  }
  // Derived before anything is written: a request whose Host can't give a URL changes nothing.
  const sourceUrl = (base: string, token: string) => `${base}/webhooks/${token}`;

  router.post('/workspaces', doc({ summary: 'Create a workspace', body: workspaceSchema, status: 201, response: 'The workspace' }), manage, async (ctx) => {
    const input = parse(workspaceSchema, ctx.request.body);
    ctx.status = 201;
    ctx.body = presentWorkspace(await insertWorkspace(db, { id: newId('ws'), organizationId: orgOf(ctx), name: input.name }));
  });

  router.get('/workspaces', doc({ summary: 'List workspaces', response: '`{data: [workspaces]}`' }), read, async (ctx) => {
    ctx.body = { data: (await listWorkspaces(db, orgOf(ctx))).map(presentWorkspace) };
  });

  router.get('/workspaces/:id', doc({ summary: 'Get a workspace', response: 'The workspace' }), read, async (ctx) => {
    const workspace = await findWorkspace(db, orgOf(ctx), ctx.params.id);
    if (!workspace) throw notFound('workspace');
    ctx.body = presentWorkspace(workspace);
  });

  router.patch('/workspaces/:id', doc({ summary: 'Rename a workspace', body: workspaceSchema, response: 'The workspace' }), manage, async (ctx) => {
    const { name } = parse(workspaceSchema, ctx.request.body);
    const workspace = await renameWorkspace(db, orgOf(ctx), ctx.params.id, name);
    if (!workspace) throw notFound('workspace');
    ctx.body = presentWorkspace(workspace);
  });

  // Only an empty workspace: deleting its rooms and agents is each its own decision.
  router.delete('/workspaces/:id', doc({ summary: 'Delete a workspace that holds no room and no agent (its generic ingress stops at once)', status: 204, errors: { 409: 'The workspace still holds rooms or agents (`details: {rooms, agents}`)' } }), manage, async (ctx) => {
    const outcome = await withTransaction(db, (tx) => deleteEmptyWorkspace(tx, orgOf(ctx), ctx.params.id));
    if (outcome.kind === 'not_found') throw notFound('workspace');
    if (outcome.kind === 'not_empty') {
      throw new AppError('conflict', `the workspace still holds ${outcome.rooms} room(s) and ${outcome.agents} agent(s); delete them first`, { rooms: outcome.rooms, agents: outcome.agents });
    }
    ctx.status = 204;
  });

  // Signing for the workspace's generic ingress: a new secret is shown once. Calling it again rotates:
  // the previous secret keeps verifying for the overlap window. DELETE turns signing off.
  router.post('/workspaces/:id/ingress-secret', doc({ summary: 'Turn on (or rotate) Standard Webhooks signing of the workspace’s generic ingress', response: '`{secret, scheme, headers}`; the secret is shown only here' }), manage, async (ctx) => {
    const secret = generateWebhookSecret();
    const found = await withTransaction(db, (tx) =>
      changeIngressKeys(tx, orgOf(ctx), ctx.params.id, (keys) => rotateKeys(keys, secretBox.seal(secret), Date.now(), overlapMs)),
    );
    if (!found) throw notFound('workspace');
    ctx.body = { secret, scheme: 'standard-webhooks', headers: ['webhook-id', 'webhook-timestamp', 'webhook-signature'] };
  });

  router.delete('/workspaces/:id/ingress-secret', doc({ summary: 'Turn off signing of the workspace’s generic ingress', status: 204 }), manage, async (ctx) => {
    if (!(await changeIngressKeys(db, orgOf(ctx), ctx.params.id, () => null))) throw notFound('workspace');
    ctx.status = 204;
  });

  router.post('/workspaces/:id/rooms', doc({ summary: 'Create a room in a workspace', body: roomSchema, status: 201, response: 'The room' }), manage, async (ctx) => {
    const input = parse(roomSchema, ctx.request.body);
    const workspace = await findWorkspace(db, orgOf(ctx), ctx.params.id);
    if (!workspace) throw notFound('workspace');
    const created = await insertRoom(db, {
      id: newId('room'),
      organizationId: orgOf(ctx),
      workspaceId: workspace.id,
      name: input.name,
      instructions: input.instructions,
      modelTier: input.modelTier ?? 'smart',
      twilioAuthKeys: input.twilioAuthToken ? singleKey(secretBox.seal(input.twilioAuthToken), Date.now()) : null,
    });
    ctx.status = 201;
    ctx.body = presentRoom(created);
  });

  router.get('/workspaces/:id/rooms', doc({ summary: 'List a workspace’s rooms', response: '`{data: [rooms]}`' }), read, async (ctx) => {
    const workspace = await findWorkspace(db, orgOf(ctx), ctx.params.id);
    if (!workspace) throw notFound('workspace');
    ctx.body = { data: (await listRooms(db, orgOf(ctx), workspace.id)).map(presentRoom) };
  });

  router.get('/rooms/:id', doc({ summary: 'Get a room', response: 'The room' }), read, async (ctx) => {
    ctx.body = presentRoom(await room(ctx));
  });

  router.patch('/rooms/:id', doc({ summary: 'Change a room’s name, instructions or model tier (its agent uses them from its next item on)', body: roomUpdateSchema, response: 'The room' }), manage, async (ctx) => {
    const input = parse(roomUpdateSchema, ctx.request.body);
    const updated = await updateRoom(db, orgOf(ctx), ctx.params.id, input);
    if (!updated) throw notFound('room');
    ctx.body = presentRoom(updated);
  });

  router.delete('/rooms/:id', doc({ summary: 'Delete a room with its event sources (their URLs stop working), definitions, events, backlog and chat', status: 204 }), manage, async (ctx) => {
    if (!(await deleteRoom(db, orgOf(ctx), ctx.params.id))) throw notFound('room');
    ctx.status = 204;
  });

  // Twilio's rotation: the customer makes a secondary auth token, updates their apps, then promotes it,
  // and from then on Twilio signs with it. The new token verifies at once; the previous ones keep
  // verifying for the overlap window, so messages signed before the promotion are not refused.
  router.put('/rooms/:id/twilio-auth-token', doc({ summary: 'Set or rotate a room’s Twilio auth token; previous tokens keep verifying for the overlap window', body: twilioAuthTokenSchema, response: 'The room, with `previousTokensExpireAt` (null when no previous token verifies); the token is never returned' }), manage, async (ctx) => {
    const { token } = parse(twilioAuthTokenSchema, ctx.request.body);
    const now = Date.now();
    const sealed = secretBox.seal(token);
    const updated = await withTransaction(db, (tx) =>
      changeTwilioAuthKeys(tx, orgOf(ctx), ctx.params.id, (keys) => rotateKeys(keys, sealed, now, overlapMs)),
    );
    if (!updated) throw notFound('room');
    ctx.body = { ...presentRoom(updated), previousTokensExpireAt: previousKeysExpireAt(updated.twilioAuthKeys, now) };
  });

  router.delete('/rooms/:id/twilio-auth-token', doc({ summary: 'Turn off a room’s Twilio channel (every token stops verifying at once)', status: 204 }), manage, async (ctx) => {
    if (!(await changeTwilioAuthKeys(db, orgOf(ctx), ctx.params.id, () => null))) throw notFound('room');
    ctx.status = 204;
  });

  router.post('/rooms/:id/event-sources', doc({ summary: 'Create an event source (an inbound URL) for a room', body: eventSourceSchema, status: 201, response: '`{id, token, url, …}`; the token is shown only here and at regeneration' }), manage, async (ctx) => {
    const input = parse(eventSourceSchema, ctx.request.body);
    const base = publicBaseUrlOf(ctx, deps);
    const { id: roomId } = await room(ctx);
    const token = generateSourceToken();
    const created = await insertEventSource(db, {
      id: newId('src'),
      organizationId: orgOf(ctx),
      roomId,
      name: input.name,
      tokenHash: hashToken(token),
      verificationScheme: input.verification?.scheme ?? null,
      verificationKeys: input.verification ? singleKey(secretBox.seal(input.verification.secret), Date.now()) : null,
      verificationHeader: input.verification?.header ?? null,
    });
    ctx.status = 201;
    ctx.body = { ...presentSource(created), token, url: sourceUrl(base, token) };
  });

  router.get('/rooms/:id/event-sources', doc({ summary: 'List a room’s event sources', response: '`{data: [sources]}`' }), read, async (ctx) => {
    const { id: roomId } = await room(ctx);
    ctx.body = { data: (await listEventSources(db, orgOf(ctx), roomId)).map(presentSource) };
  });

  router.patch('/event-sources/:id', doc({ summary: 'Rename an event source', body: eventSourceUpdateSchema, response: 'The source' }), manage, async (ctx) => {
    const { name } = parse(eventSourceUpdateSchema, ctx.request.body);
    const updated = await renameEventSource(db, orgOf(ctx), ctx.params.id, name);
    if (!updated) throw notFound('event source');
    ctx.body = presentSource(updated);
  });

  router.delete('/event-sources/:id', doc({ summary: 'Delete an event source with its definitions, events and backlog items; its URL stops working at once', status: 204 }), manage, async (ctx) => {
    if (!(await deleteEventSource(db, orgOf(ctx), ctx.params.id))) throw notFound('event source');
    ctx.status = 204;
  });

  router.post('/event-sources/:id/regenerate-token', doc({ summary: 'Replace an event source’s token; the old URL stops working at once', response: '`{id, token, url}`' }), manage, async (ctx) => {
    const base = publicBaseUrlOf(ctx, deps);
    const found = await source(ctx);
    const token = generateSourceToken();
    // The old hash is overwritten: the old URL stops working with this statement.
    await replaceToken(db, orgOf(ctx), found.id, hashToken(token));
    ctx.body = { id: found.id, token, url: sourceUrl(base, token) };
  });

  // A sender's secret changes (Stripe rolls an endpoint secret, a partner rotates its key): the new one
  // verifies at once, and with the same scheme and header the previous ones keep verifying for the
  // overlap window, so requests the sender signed before it switched are not refused.
  router.put('/event-sources/:id/verification', doc({ summary: 'Set or rotate how an event source verifies its senders; previous secrets of the same scheme keep verifying for the overlap window', body: verificationSchema, response: 'The source, with `previousSecretsExpireAt` (null when no previous secret verifies)' }), manage, async (ctx) => {
    const input = parse(verificationSchema, ctx.request.body);
    const now = Date.now();
    const sealed = secretBox.seal(input.secret);
    const header = input.header ?? null;
    const updated = await withTransaction(db, (tx) =>
      changeVerification(tx, orgOf(ctx), ctx.params.id, (current) => ({
        scheme: input.scheme,
        header,
        // Keys of another scheme or header can't verify what the sender now sends: they go at once.
        keys:
          current && current.scheme === input.scheme && current.header?.toLowerCase() === header?.toLowerCase()
            ? rotateKeys(current.keys, sealed, now, overlapMs)
            : singleKey(sealed, now),
      })),
    );
    if (!updated) throw notFound('event source');
    ctx.body = { ...presentSource(updated), previousSecretsExpireAt: previousKeysExpireAt(updated.verificationKeys, now) };
  });

  router.delete('/event-sources/:id/verification', doc({ summary: 'Stop verifying an event source’s senders (its token alone admits them)', status: 204 }), manage, async (ctx) => {
    if (!(await changeVerification(db, orgOf(ctx), ctx.params.id, () => null))) throw notFound('event source');
    ctx.status = 204;
  });

  router.post('/event-sources/:id/definitions', doc({ summary: 'Add an event definition to a source', body: definitionSchema, status: 201, response: 'The definition', errors: { 409: 'The source holds 200 definitions already (`details.limit`)' } }), manage, async (ctx) => {
    const input = parse(definitionSchema, ctx.request.body);
    const found = await source(ctx);
    const created = await withTransaction(db, (tx) =>
      insertDefinition(
        tx,
        {
          id: newId('def'),
          organizationId: orgOf(ctx),
          sourceId: found.id,
          name: input.name,
          description: input.description,
          priority: input.priority,
          rule: input.rule ?? null,
          instructions: input.instructions ?? null,
        },
        MAX_DEFINITIONS_PER_SOURCE,
      ),
    );
    // Every description-only definition can go into one model prompt: their number is bounded.
    if (!created) throw new AppError('conflict', `an event source holds at most ${MAX_DEFINITIONS_PER_SOURCE} definitions; delete one first`, { limit: MAX_DEFINITIONS_PER_SOURCE });
    ctx.status = 201;
    ctx.body = presentDefinition(created);
  });

  router.get('/event-sources/:id/definitions', doc({ summary: 'List a source’s definitions in priority order', response: '`{data: [definitions]}`' }), read, async (ctx) => {
    const found = await source(ctx);
    ctx.body = { data: (await listDefinitions(db, found.id)).map(presentDefinition) };
  });

  router.get('/definitions/:id', doc({ summary: 'Get an event definition', response: 'The definition' }), read, async (ctx) => {
    const found = await findDefinition(db, orgOf(ctx), ctx.params.id);
    if (!found) throw notFound('definition');
    ctx.body = presentDefinition(found);
  });

  router.patch('/definitions/:id', doc({ summary: 'Change an event definition; matching uses it from the next event on', body: definitionUpdateSchema, response: 'The definition' }), manage, async (ctx) => {
    const input = parse(definitionUpdateSchema, ctx.request.body);
    const updated = await withTransaction(db, (tx) => updateDefinition(tx, orgOf(ctx), ctx.params.id, input));
    if (!updated) throw notFound('definition');
    ctx.body = presentDefinition(updated);
  });

  router.delete('/definitions/:id', doc({ summary: 'Delete an event definition', status: 204 }), manage, async (ctx) => {
    if (!(await withTransaction(db, (tx) => deleteDefinition(tx, orgOf(ctx), ctx.params.id)))) throw notFound('definition');
    ctx.status = 204;
  });

  router.get('/rooms/:id/backlog', doc({ summary: 'A room’s backlog, with pending depth and drops per source', query: backlogQuery, response: '`{data: [items], depth: {sourceId: n}, dropped: {sourceId: n}}`' }), read, async (ctx) => {
    const query = parse(backlogQuery, ctx.query);
    const found = await room(ctx);
    const [items, counters] = await Promise.all([
      listBacklog(db, orgOf(ctx), found.id, query.status, query.limit),
      backlogCounters(db, found.id),
    ]);
    ctx.body = { data: items.map(presentItem), ...counters };
  });

  router.get('/rooms/:id/match-log', doc({ summary: 'How matching ended for a room’s recent events, with reasons', query: matchLogQuery, response: '`{data: [{eventId, sourceId, matched, reason, at}]}`' }), read, async (ctx) => {
    const { limit } = parse(matchLogQuery, ctx.query);
    const found = await room(ctx);
    const entries = await matchLog(db, orgOf(ctx), found.id, limit);
    ctx.body = { data: entries.map((e) => ({ ...e, at: e.at.getTime() })) };
  });

  router.post('/rooms/:id/replies', doc({ summary: 'Post a human reply to the room chat; runs the room’s backlog now', body: replySchema, status: 202, response: '`{id, chatId, triggered}`' }), requireCapability('send'), async (ctx) => {
    const input = parse(replySchema, ctx.request.body);
    const found = await room(ctx);
    const chatId = await roomChat(db, found);
    const message = await appendMessage(db, { chatId, role: 'user', author: input.author ?? 'human', content: input.text });
    const triggered = await wakeRoomScheduler(deps.temporal, { roomId: found.id, organizationId: found.organizationId, workspaceId: found.workspaceId }, 'now').then(
      () => true,
      (err) => {
        // The reply is stored; the room's next tick still runs its backlog.
        deps.log(`room ${found.id}: triggerImmediate not sent: ${(err as Error).message}`);
        return false;
      },
    );
    ctx.status = 202;
    ctx.body = { id: message.id, chatId, triggered };
  });
}
