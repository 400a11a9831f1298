-- Up Migration

-- A webhook's payload filter, in the rule language of event definitions, checked against the event
-- envelope at fan-out; events it rejects create no delivery.
ALTER TABLE webhooks ADD COLUMN filter jsonb;

-- Bulk operations (recover a webhook's failures, replay dead letters): one row each, worked through
-- by one workflow. Progress is counted from the deliveries the operation made (deliveries.operation_id).
CREATE TABLE operations (
  id                   text PRIMARY KEY,
  organization_id      text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  kind                 text NOT NULL CHECK (kind IN ('webhook.recover', 'dead_letters.replay')),
  params               jsonb NOT NULL,
  status               text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
  total                integer NOT NULL,
  -- Where the operation has got to in its candidates (their created_at, id order).
  cursor_at            timestamptz,
  cursor_id            text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  completed_at         timestamptz,
  workflow_started_at  timestamptz,
  start_attempts       integer NOT NULL DEFAULT 0,
  start_retry_at       timestamptz,
  start_error          text
);
CREATE INDEX operations_by_org ON operations (organization_id, created_at DESC);
CREATE INDEX operations_to_start ON operations ((coalesce(start_retry_at, created_at)))
  WHERE workflow_started_at IS NULL AND start_error IS NULL;

ALTER TABLE deliveries ADD COLUMN operation_id text REFERENCES operations(id) ON DELETE SET NULL;
CREATE INDEX deliveries_by_operation ON deliveries (operation_id) WHERE operation_id IS NOT NULL;
CREATE INDEX deliveries_by_replay_of ON deliveries (replay_of) WHERE replay_of IS NOT NULL;
