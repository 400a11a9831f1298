-- Up Migration

-- The sender's own id for a delivery (Standard Webhooks `webhook-id`, GitHub's `X-GitHub-Delivery`, a
-- Stripe `evt_` id), prefixed by its kind: a sender's retry, or a captured request replayed, is the
-- event already recorded, not a new one. Such an event's id is derived from (source, this id), so the
-- primary key refuses a repeat on every path (an event its workflow recorded while PostgreSQL was down
-- has this column null); the index keeps the rule in the schema whatever makes the ids. Rows from
-- before this migration are null: they are never deduplicated.
ALTER TABLE room_events ADD COLUMN sender_event_id text;
CREATE UNIQUE INDEX room_events_one_per_sender_event ON room_events (source_id, sender_event_id)
  WHERE sender_event_id IS NOT NULL;
