-- Up Migration

-- The event-type filter of delivery lists takes the org's events of that type from this range (found
-- by bench:growth: looking up each delivery's event across a grown events table cost 10-20x).
CREATE INDEX events_by_org_type ON events (organization_id, type, id);
ANALYZE events;
