-- Up Migration
-- Workspaces hold rooms (inbound room events) and agents and chats (generic ingress).
CREATE TABLE workspaces (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name             text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workspaces_by_org ON workspaces (organization_id, created_at);

CREATE TABLE rooms (
  id                        text PRIMARY KEY,
  organization_id           text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  workspace_id              text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name                      text NOT NULL,
  instructions              text NOT NULL,
  model_tier                text NOT NULL DEFAULT 'smart' CHECK (model_tier IN ('fast', 'smart')),
  twilio_auth_token_sealed  text,
  created_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rooms_by_workspace ON rooms (workspace_id, created_at);

-- A room's inbound URL is /webhooks/<token>; only the token's SHA-256 is stored.
CREATE TABLE event_sources (
  id                          text PRIMARY KEY,
  organization_id             text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  room_id                     text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  name                        text NOT NULL,
  token_hash                  text NOT NULL UNIQUE,
  verification_scheme         text,
  verification_secret_sealed  text,
  verification_header         text,
  -- Bumped whenever the source's definitions change: part of the LLM match cache key.
  definitions_version         integer NOT NULL DEFAULT 0,
  dropped_count               bigint NOT NULL DEFAULT 0,
  created_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_sources_by_room ON event_sources (room_id, created_at);

CREATE TABLE event_definitions (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  source_id        text NOT NULL REFERENCES event_sources(id) ON DELETE CASCADE,
  name             text NOT NULL,
  description      text NOT NULL,
  priority         integer NOT NULL,
  rule             jsonb,
  instructions     text,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_definitions_by_source ON event_definitions (source_id, priority, created_at);

-- Every accepted inbound event, and how matching ended for it (the match log).
CREATE TABLE room_events (
  id                     text PRIMARY KEY,
  organization_id        text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  room_id                text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  source_id              text NOT NULL REFERENCES event_sources(id) ON DELETE CASCADE,
  payload                text NOT NULL,
  received_at            timestamptz NOT NULL DEFAULT now(),
  workflow_started_at    timestamptz,
  outcome                text CHECK (outcome IN ('matched', 'no_match')),
  matched_definition_id  text REFERENCES event_definitions(id) ON DELETE SET NULL,
  match_reason           text,
  matched_at             timestamptz
);
CREATE INDEX room_events_match_log ON room_events (room_id, matched_at DESC) WHERE outcome IS NOT NULL;
CREATE INDEX room_events_not_started ON room_events (received_at) WHERE workflow_started_at IS NULL;

CREATE TABLE llm_match_cache (
  source_id            text NOT NULL REFERENCES event_sources(id) ON DELETE CASCADE,
  definitions_version  integer NOT NULL,
  shape_key            text NOT NULL,
  definition_id        text,
  reason               text NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, definitions_version, shape_key)
);

CREATE TABLE backlog_items (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  room_id          text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  source_id        text NOT NULL REFERENCES event_sources(id) ON DELETE CASCADE,
  event_id         text NOT NULL UNIQUE REFERENCES room_events(id) ON DELETE CASCADE,
  definition_id    text REFERENCES event_definitions(id) ON DELETE SET NULL,
  priority         integer NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'done', 'failed')),
  result           text,
  error            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz
);
CREATE INDEX backlog_pending_by_source ON backlog_items (source_id) WHERE status = 'pending';
CREATE INDEX backlog_by_room ON backlog_items (room_id, status, priority, created_at);

-- Conversations: a room's chat (human replies, channel messages, agent results) or an agent's chat.
CREATE TABLE chats (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  workspace_id     text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  room_id          text UNIQUE REFERENCES rooms(id) ON DELETE CASCADE,
  title            text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chats_by_workspace ON chats (workspace_id, created_at DESC);

CREATE TABLE chat_messages (
  id          text PRIMARY KEY,
  chat_id     text NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('user', 'assistant', 'event')),
  author      text,
  content     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_by_chat ON chat_messages (chat_id, created_at, id);
