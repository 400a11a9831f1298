-- Up Migration

-- Retention finds what is old through these; list routes page by (org, time, id).
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX events_by_created ON events (created_at);
CREATE INDEX deliveries_by_org ON deliveries (organization_id, created_at DESC, id DESC);
