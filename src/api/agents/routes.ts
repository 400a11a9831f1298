import { z } from 'zod';
import { doc } from '../openapi.js';
import { deleteAgent, findAgent, insertAgent, listAgents, updateAgent, type Agent } from '../../db/agents.js';
import { findWorkspace } from '../../db/workspaces.js';
import { newId } from '../../domain/ids.js';
import { notFound } from '../../errors.js';
import { orgOf, requireCapability } from '../auth.js';
import type { ApiDeps, ApiRouter } from '../context.js';
import { parse } from '../validate.js';
import { storableString } from '../../domain/storable-text.js';
import { MAX_ROLE_LENGTH } from '../../generic/ingress-limits.js';

// A role names the events an agent answers: `webhook.<source>.<event_type_slug>`.
const role = z
  .string()
  .max(MAX_ROLE_LENGTH)
  .regex(/^webhook\.[a-z0-9_-]+\.[a-z0-9_]+$/, 'roles look like webhook.<source>.<event_type_slug>, e.g. webhook.stripe.payment_succeeded');

const fields = {
  name: storableString().trim().min(1).max(200),
  instructions: storableString().min(1).max(20_000),
  roles: z.array(role).max(100),
  modelTier: z.enum(['fast', 'smart']).optional(),
};
const createAgentSchema = z.object(fields).strict();
const updateAgentSchema = z.object(fields).partial().strict();

const presentAgent = (a: Agent) => ({
  id: a.id,
  workspaceId: a.workspaceId,
  name: a.name,
  instructions: a.instructions,
  modelTier: a.modelTier,
  roles: a.roles,
  createdAt: a.createdAt.getTime(),
  updatedAt: a.updatedAt.getTime(),
});

export function agentRoutes(router: ApiRouter, { db }: ApiDeps): void {
  const manage = requireCapability('manage');
  const read = requireCapability('read');

  router.post('/workspaces/:id/agents', doc({ summary: 'Create an agent in a workspace, with the roles it answers', body: createAgentSchema, status: 201, response: 'The agent' }), manage, async (ctx) => {
    const input = parse(createAgentSchema, ctx.request.body);
    const workspace = await findWorkspace(db, orgOf(ctx), ctx.params.id);
    if (!workspace) throw notFound('workspace');
    const agent = await insertAgent(db, {
      id: newId('agent'),
      organizationId: orgOf(ctx),
      workspaceId: workspace.id,
      name: input.name,
      instructions: input.instructions,
      modelTier: input.modelTier ?? 'smart',
      roles: [...new Set(input.roles)],
    });
    ctx.status = 201;
    ctx.body = presentAgent(agent);
  });

  router.get('/workspaces/:id/agents', doc({ summary: 'List a workspace’s agents', response: '`{data: [agents]}`' }), read, async (ctx) => {
    const workspace = await findWorkspace(db, orgOf(ctx), ctx.params.id);
    if (!workspace) throw notFound('workspace');
    ctx.body = { data: (await listAgents(db, orgOf(ctx), workspace.id)).map(presentAgent) };
  });

  router.get('/agents/:id', doc({ summary: 'Get an agent', response: 'The agent' }), read, async (ctx) => {
    const agent = await findAgent(db, orgOf(ctx), ctx.params.id);
    if (!agent) throw notFound('agent');
    ctx.body = presentAgent(agent);
  });

  router.patch('/agents/:id', doc({ summary: 'Change an agent', body: updateAgentSchema, response: 'The agent' }), manage, async (ctx) => {
    const input = parse(updateAgentSchema, ctx.request.body);
    const agent = await updateAgent(db, orgOf(ctx), ctx.params.id, {
      ...input,
      roles: input.roles ? [...new Set(input.roles)] : undefined,
    });
    if (!agent) throw notFound('agent');
    ctx.body = presentAgent(agent);
  });

  router.delete('/agents/:id', doc({ summary: 'Delete an agent', status: 204 }), manage, async (ctx) => {
    if (!(await deleteAgent(db, orgOf(ctx), ctx.params.id))) throw notFound('agent');
    ctx.status = 204;
  });
}
