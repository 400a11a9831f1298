-- Up Migration

-- Indexes shaped like the queries that read large tables, so list routes and statistics cost what
-- their page or window holds, not what the table holds. Keyset pages order by (created_at, id).
DROP INDEX deliveries_dead_by_org;
CREATE INDEX deliveries_dead_by_org ON deliveries (organization_id, created_at DESC, id DESC) WHERE status = 'dead';
DROP INDEX deliveries_by_webhook;
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at DESC, id DESC);
-- Inbound statistics per source and per workspace, over a window.
CREATE INDEX room_events_by_source ON room_events (source_id, received_at);
CREATE INDEX event_inbox_by_org ON event_inbox (organization_id, received_at);
