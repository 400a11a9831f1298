import type { Queryable } from './pool.js';

export interface Agent {
  id: string;
  organizationId: string;
  workspaceId: string;
  name: string;
  instructions: string;
  modelTier: 'fast' | 'smart';
  roles: string[];
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, organization_id AS "organizationId", workspace_id AS "workspaceId", name, instructions,
  model_tier AS "modelTier", roles, created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function insertAgent(db: Queryable, a: Omit<Agent, 'createdAt' | 'updatedAt'>): Promise<Agent> {
  const { rows } = await db.query(
    `INSERT INTO agents (id, organization_id, workspace_id, name, instructions, model_tier, roles)
     VALUES ($1, $2, $3, $4, $5, $6, $7::text[]) RETURNING ${COLUMNS}`,
    [a.id, a.organizationId, a.workspaceId, a.name, a.instructions, a.modelTier, a.roles],
  );
  return rows[0];
}

/** Org-scoped when organizationId is given; the worker looks agents up by id alone. */
export async function findAgent(db: Queryable, organizationId: string | null, id: string): Promise<Agent | null> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM agents WHERE id = $2 AND ($1::text IS NULL OR organization_id = $1)`,
    [organizationId, id],
  );
  return rows[0] ?? null;
}

export async function listAgents(db: Queryable, organizationId: string, workspaceId: string): Promise<Agent[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM agents WHERE organization_id = $1 AND workspace_id = $2 ORDER BY created_at, id`,
    [organizationId, workspaceId],
  );
  return rows;
}

export async function agentsWithRole(db: Queryable, workspaceId: string, role: string): Promise<Agent[]> {
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM agents WHERE workspace_id = $1 AND roles @> ARRAY[$2]::text[] ORDER BY created_at, id`,
    [workspaceId, role],
  );
  return rows;
}

export async function updateAgent(
  db: Queryable,
  organizationId: string,
  id: string,
  c: Partial<Pick<Agent, 'name' | 'instructions' | 'modelTier' | 'roles'>>,
): Promise<Agent | null> {
  const { rows } = await db.query(
    `UPDATE agents SET name = coalesce($3, name), instructions = coalesce($4, instructions),
                       model_tier = coalesce($5, model_tier), roles = coalesce($6::text[], roles), updated_at = now()
      WHERE organization_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [organizationId, id, c.name ?? null, c.instructions ?? null, c.modelTier ?? null, c.roles ?? null],
  );
  return rows[0] ?? null;
}

export async function deleteAgent(db: Queryable, organizationId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM agents WHERE organization_id = $1 AND id = $2`, [organizationId, id]);
  return (rowCount ?? 0) > 0;
}

export interface AgentRun {
  id: string;
  agentId: string;
  chatId: string;
  inboxId: string;
  workflowId: string;
  status: 'queued' | 'done' | 'failed';
  answer: string | null;
  error: string | null;
}

/** One run per (agent, inbound event), whatever retries happen. */
export async function ensureAgentRun(db: Queryable, r: Pick<AgentRun, 'id' | 'agentId' | 'chatId' | 'inboxId' | 'workflowId'>): Promise<AgentRun> {
  const { rows } = await db.query(
    `INSERT INTO agent_runs (id, agent_id, chat_id, inbox_id, workflow_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (agent_id, inbox_id) DO UPDATE SET agent_id = agent_runs.agent_id
     RETURNING id, agent_id AS "agentId", chat_id AS "chatId", inbox_id AS "inboxId", workflow_id AS "workflowId",
               status, answer, error`,
    [r.id, r.agentId, r.chatId, r.inboxId, r.workflowId],
  );
  return rows[0];
}

export async function findAgentRun(db: Queryable, id: string): Promise<AgentRun | null> {
  const { rows } = await db.query(
    `SELECT id, agent_id AS "agentId", chat_id AS "chatId", inbox_id AS "inboxId", workflow_id AS "workflowId",
            status, answer, error FROM agent_runs WHERE id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function finishAgentRun(db: Queryable, f: { id: string; status: 'done' | 'failed'; answer?: string; error?: string }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE agent_runs SET status = $2, answer = coalesce(answer, $3), error = $4, completed_at = now()
      WHERE id = $1 AND status = 'queued'`,
    [f.id, f.status, f.answer ?? null, f.error ?? null],
  );
  return (rowCount ?? 0) > 0;
}

export async function storeFirstAnswer(db: Queryable, id: string, answer: string): Promise<string | null> {
  const { rows } = await db.query(
    `UPDATE agent_runs SET answer = coalesce(answer, $2) WHERE id = $1 AND status = 'queued' RETURNING answer`,
    [id, answer],
  );
  return rows[0]?.answer ?? null;
}
