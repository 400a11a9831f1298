-- Up Migration

-- Signing keys as lists of expiring keys, newest first: [{secret, createdAt, expiresAt}] with the secret
-- sealed (AES-256-GCM), epoch-ms times, and expiresAt null for a key that does not expire. Rotating twice inside the overlap window
-- keeps every key that is still inside its window, not just the last one.
ALTER TABLE webhooks ADD COLUMN signing_keys jsonb;
UPDATE webhooks SET signing_keys =
  jsonb_build_array(jsonb_build_object(
    'secret', secret_sealed, 'createdAt', (extract(epoch FROM updated_at) * 1000)::bigint, 'expiresAt', NULL))
  || CASE WHEN previous_secret_sealed IS NOT NULL AND previous_secret_expires_at > now()
       THEN jsonb_build_array(jsonb_build_object(
         'secret', previous_secret_sealed, 'createdAt', (extract(epoch FROM created_at) * 1000)::bigint,
         'expiresAt', (extract(epoch FROM previous_secret_expires_at) * 1000)::bigint))
       ELSE '[]'::jsonb END;
ALTER TABLE webhooks ALTER COLUMN signing_keys SET NOT NULL;
ALTER TABLE webhooks DROP COLUMN secret_sealed, DROP COLUMN previous_secret_sealed, DROP COLUMN previous_secret_expires_at;

ALTER TABLE event_sources ADD COLUMN verification_keys jsonb;
UPDATE event_sources SET verification_keys = jsonb_build_array(jsonb_build_object(
    'secret', verification_secret_sealed, 'createdAt', (extract(epoch FROM created_at) * 1000)::bigint, 'expiresAt', NULL))
  WHERE verification_secret_sealed IS NOT NULL;
ALTER TABLE event_sources DROP COLUMN verification_secret_sealed;

ALTER TABLE workspaces ADD COLUMN ingress_keys jsonb;
UPDATE workspaces SET ingress_keys = jsonb_build_array(jsonb_build_object(
    'secret', ingress_secret_sealed, 'createdAt', (extract(epoch FROM created_at) * 1000)::bigint, 'expiresAt', NULL))
  WHERE ingress_secret_sealed IS NOT NULL;
ALTER TABLE workspaces DROP COLUMN ingress_secret_sealed;

-- Webhook statistics in a few counter rows per webhook instead of on the webhook row: concurrent
-- attempts of one endpoint update different shards, so they never queue on one row lock.
CREATE TABLE webhook_stats (
  webhook_id       text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  shard            smallint NOT NULL,
  success_count    bigint NOT NULL DEFAULT 0,
  failure_count    bigint NOT NULL DEFAULT 0,
  last_attempt_at  timestamptz,
  last_success_at  timestamptz,
  PRIMARY KEY (webhook_id, shard)
);
INSERT INTO webhook_stats (webhook_id, shard, success_count, failure_count, last_attempt_at, last_success_at)
  SELECT id, 0, success_count, failure_count, last_triggered_at, last_success_at FROM webhooks;
ALTER TABLE webhooks DROP COLUMN success_count, DROP COLUMN failure_count,
  DROP COLUMN last_triggered_at, DROP COLUMN last_success_at;
-- Set at the first failed attempt after a success, cleared by the next success.
ALTER TABLE webhooks ADD COLUMN failing_since timestamptz;

-- Per-endpoint limits as leases. An in-flight slot ('f') is held by one attempt until it finishes or
-- its lease runs out (a lost worker); a per-minute start ('m') is free again 60 s after it was taken.
-- Claims take a free row with SKIP LOCKED, so concurrent attempts never wait on each other, and no
-- more than n slots/starts can ever be out: the limits hold exactly under contention.
CREATE TABLE endpoint_slots (
  webhook_id  text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  kind        char(1) NOT NULL CHECK (kind IN ('f', 'm')),
  n           integer NOT NULL,
  free_at     timestamptz NOT NULL DEFAULT '-infinity',
  attempt_id  text,
  PRIMARY KEY (webhook_id, kind, n)
);
CREATE INDEX endpoint_slots_by_attempt ON endpoint_slots (attempt_id) WHERE attempt_id IS NOT NULL;

-- A delivery waiting for an in-flight slot; a finishing attempt wakes the longest-waiting one.
ALTER TABLE deliveries ADD COLUMN waiting_since timestamptz;
CREATE INDEX deliveries_waiting ON deliveries (webhook_id, waiting_since) WHERE waiting_since IS NOT NULL;

-- Recovery bookkeeping: a row whose workflow could not be started is retried later (start_retry_at),
-- or, when Temporal refuses it for good, marked with the reason and skipped (start_error).
ALTER TABLE deliveries ADD COLUMN start_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN start_retry_at timestamptz, ADD COLUMN start_error text;
ALTER TABLE room_events ADD COLUMN start_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN start_retry_at timestamptz, ADD COLUMN start_error text;
ALTER TABLE event_inbox ADD COLUMN start_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN start_retry_at timestamptz, ADD COLUMN start_error text;
DROP INDEX deliveries_not_started;
DROP INDEX room_events_not_started;
DROP INDEX event_inbox_not_started;
CREATE INDEX deliveries_to_start ON deliveries ((coalesce(start_retry_at, created_at)))
  WHERE started_at IS NULL AND start_error IS NULL;
CREATE INDEX room_events_to_start ON room_events ((coalesce(start_retry_at, received_at)))
  WHERE workflow_started_at IS NULL AND start_error IS NULL;
CREATE INDEX event_inbox_to_start ON event_inbox ((coalesce(start_retry_at, received_at)))
  WHERE workflow_started_at IS NULL AND start_error IS NULL;

-- Dedupe on a hash of the sender's key: a key of any length fits the index (the key itself is kept).
ALTER TABLE event_inbox ADD COLUMN dedupe_hash text;
UPDATE event_inbox SET dedupe_hash = encode(sha256(convert_to(dedupe_key, 'UTF8')), 'hex') WHERE dedupe_key IS NOT NULL;
DROP INDEX event_inbox_dedupe;
CREATE UNIQUE INDEX event_inbox_dedupe ON event_inbox (workspace_id, dedupe_hash) WHERE dedupe_hash IS NOT NULL;

-- The outbox without a per-org lock. seq comes from one sequence; xid is the publishing transaction.
-- A reader returns only rows whose transaction is older than every transaction still running
-- (pg_snapshot_xmin), in (xid, seq) order: no row can later appear before a position already read,
-- so a stream resuming from a position misses nothing, and publishes never queue on a counter row.
CREATE SEQUENCE events_seq;
SELECT setval('events_seq', coalesce((SELECT max(seq) FROM events), 0) + 1, false);
ALTER TABLE events ALTER COLUMN seq SET DEFAULT nextval('events_seq');
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_feed ON events (organization_id, xid, seq);
DROP TABLE event_sequences;
CREATE OR REPLACE FUNCTION hookwise_notify_event() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('hookwise_events', NEW.organization_id);
  RETURN NEW;
END
$$ LANGUAGE plpgsql;
