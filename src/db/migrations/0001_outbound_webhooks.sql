-- Up Migration
-- Tenancy: everything hangs off an organization; API keys are stored as SHA-256 hashes only.
CREATE TABLE organizations (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name             text,
  prefix           text NOT NULL,
  key_hash         text NOT NULL UNIQUE,
  capabilities     text[] NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  revoked_at       timestamptz
);

-- Outbound endpoints. Secrets are sealed (AES-256-GCM); the previous secret keeps signing until
-- previous_secret_expires_at so receivers can roll over without dropping deliveries.
CREATE TABLE webhooks (
  id                          text PRIMARY KEY,
  organization_id             text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name                        text,
  url                         text NOT NULL,
  events                      text[] NOT NULL,
  session_id                  text,
  secret_sealed               text NOT NULL,
  previous_secret_sealed      text,
  previous_secret_expires_at  timestamptz,
  custom_headers              jsonb NOT NULL DEFAULT '{}',
  retry_policy                jsonb NOT NULL,
  max_in_flight               integer,
  max_per_minute              integer,
  active                      boolean NOT NULL DEFAULT true,
  disabled_reason             text,
  success_count               bigint NOT NULL DEFAULT 0,
  failure_count               bigint NOT NULL DEFAULT 0,
  last_triggered_at           timestamptz,
  last_success_at             timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_by_org ON webhooks (organization_id, created_at);

-- An event as published; body holds the exact bytes every delivery sends and signs.
CREATE TABLE events (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  type             text NOT NULL,
  session_id       text,
  body             text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- One event to one webhook. A replay is a new delivery pointing at the one it replays.
CREATE TABLE deliveries (
  id               text PRIMARY KEY,
  organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  webhook_id       text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id         text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  replay_of        text REFERENCES deliveries(id) ON DELETE SET NULL,
  workflow_id      text NOT NULL UNIQUE,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'retrying', 'succeeded', 'dead', 'cancelled')),
  attempt_count    integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error       text,
  next_attempt_at  timestamptz,
  started_at       timestamptz,
  completed_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- A repeated fan-out of the same event to the same webhook creates nothing new.
CREATE UNIQUE INDEX deliveries_one_per_webhook_event ON deliveries (webhook_id, event_id) WHERE replay_of IS NULL;
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at DESC);
CREATE INDEX deliveries_dead_by_org ON deliveries (organization_id, updated_at DESC) WHERE status = 'dead';
CREATE INDEX deliveries_not_started ON deliveries (created_at) WHERE started_at IS NULL;

CREATE TABLE delivery_attempts (
  id              text PRIMARY KEY,
  delivery_id     text NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  webhook_id      text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  attempt_number  integer NOT NULL,
  status          text NOT NULL CHECK (status IN ('in_flight', 'succeeded', 'failed', 'lost')),
  status_code     integer,
  latency_ms      integer,
  error           text,
  response_body   text,
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
CREATE INDEX attempts_by_delivery ON delivery_attempts (delivery_id, attempt_number);
-- Serves the per-endpoint limits: in-flight count and attempts in the last minute.
CREATE INDEX attempts_by_webhook_recent ON delivery_attempts (webhook_id, started_at);
