-- Up Migration
-- Optional signing of a workspace's generic ingress (Standard Webhooks with this secret).
ALTER TABLE workspaces ADD COLUMN ingress_secret_sealed text;

-- The events table is the outbox: everything hookwise publishes. Each org's events are numbered
-- 1, 2, 3… (seq) by a counter row that the publishing transaction holds locked until it commits, so
-- seq order is commit order: a live-stream client resuming from a seq can never miss a later commit.
CREATE TABLE event_sequences (
  organization_id  text PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
  last_seq         bigint NOT NULL
);
ALTER TABLE events ADD COLUMN seq bigint;
UPDATE events SET seq = numbered.n
  FROM (SELECT id, row_number() OVER (PARTITION BY organization_id ORDER BY created_at, id) AS n FROM events) numbered
 WHERE events.id = numbered.id;
INSERT INTO event_sequences (organization_id, last_seq)
  SELECT organization_id, max(seq) FROM events GROUP BY organization_id;
ALTER TABLE events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX events_by_org_seq ON events (organization_id, seq);
CREATE FUNCTION hookwise_notify_event() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('hookwise_events', NEW.organization_id || ':' || NEW.seq);
  RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION hookwise_notify_event();

-- The durable inbox of the generic ingress: the normalized event, its payload exactly as received.
CREATE TABLE event_inbox (
  id                   text PRIMARY KEY,
  organization_id      text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  workspace_id         text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  source_kind          text NOT NULL,
  event_type           text NOT NULL,
  source_identifier    text NOT NULL,
  dedupe_key           text,
  headers              jsonb NOT NULL,
  verified             jsonb NOT NULL,
  payload              text NOT NULL,
  received_at          timestamptz NOT NULL DEFAULT now(),
  workflow_started_at  timestamptz,
  published_event_id   text
);
-- The first event with a dedupe key wins; later ones are answered `accepted: false`.
CREATE UNIQUE INDEX event_inbox_dedupe ON event_inbox (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX event_inbox_not_started ON event_inbox (received_at) WHERE workflow_started_at IS NULL;

CREATE TABLE agents (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  workspace_id     text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name             text NOT NULL,
  instructions     text NOT NULL,
  model_tier       text NOT NULL DEFAULT 'smart' CHECK (model_tier IN ('fast', 'smart')),
  roles            text[] NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_by_workspace ON agents (workspace_id, created_at);
CREATE INDEX agents_by_role ON agents USING gin (roles);

-- A chat an agent run writes into: one per (agent, inbound event).
ALTER TABLE chats ADD COLUMN agent_id text REFERENCES agents(id) ON DELETE SET NULL;
ALTER TABLE chats ADD COLUMN inbox_id text REFERENCES event_inbox(id) ON DELETE SET NULL;
CREATE UNIQUE INDEX chats_one_per_agent_event ON chats (agent_id, inbox_id);

CREATE TABLE agent_runs (
  id            text PRIMARY KEY,
  agent_id      text NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  chat_id       text NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  inbox_id      text NOT NULL REFERENCES event_inbox(id) ON DELETE CASCADE,
  workflow_id   text NOT NULL UNIQUE,
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
  answer        text,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz,
  UNIQUE (agent_id, inbox_id)
);
