-- Up Migration

-- Found by bench:growth (bench/growth.md): reads of one org that cost more as other orgs' rows pile up.

-- A webhook, room or workspace belongs to one org, but the planner multiplies the selectivities of
-- `organization_id = $1 AND webhook_id = $2` as if independent and expects ~1 % of the real rows: it
-- then reads and sorts all of a webhook's (or room's) rows instead of walking its index to the LIMIT.
CREATE STATISTICS deliveries_org_webhook (dependencies) ON organization_id, webhook_id FROM deliveries;
CREATE STATISTICS room_events_org_room (dependencies) ON organization_id, room_id FROM room_events;
CREATE STATISTICS backlog_items_org_room (dependencies) ON organization_id, room_id FROM backlog_items;

-- Status filters (a rare status such as `retrying` scanned all of the org's deliveries); dead letters
-- are its status = 'dead' range. Dead letters by completion serve the statistics' window.
CREATE INDEX deliveries_by_org_status ON deliveries (organization_id, status, created_at DESC, id DESC);
DROP INDEX deliveries_dead_by_org;
CREATE INDEX deliveries_dead_by_org_completed ON deliveries (organization_id, completed_at) WHERE status = 'dead';

-- Statistics read an org's recent attempts from the index alone.
DROP INDEX attempts_by_webhook_recent;
CREATE INDEX attempts_by_webhook_recent ON delivery_attempts (webhook_id, started_at) INCLUDE (status, latency_ms);

-- The match log and the backlog page in exactly their ORDER BY.
DROP INDEX room_events_match_log;
CREATE INDEX room_events_match_log ON room_events (room_id, matched_at DESC, id DESC) WHERE outcome IS NOT NULL;
CREATE INDEX backlog_by_room_order ON backlog_items (room_id, priority, created_at, id);

ANALYZE deliveries, room_events, backlog_items, delivery_attempts;
