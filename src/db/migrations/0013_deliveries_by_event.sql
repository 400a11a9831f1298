-- Up Migration

-- Deleting an event (retention) cascades to its deliveries, and retention asks first whether any
-- delivery still refers to it: both look deliveries up by event_id, which no index led with, so each
-- deleted event scanned the whole table.
CREATE INDEX deliveries_by_event ON deliveries (event_id);
