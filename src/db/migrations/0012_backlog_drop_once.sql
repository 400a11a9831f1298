-- Up Migration

-- A dropped event is marked on its row in the transaction that counts the drop, as an admitted one has
-- its backlog item: a retried admission (its worker died after the drop committed) finds the mark and
-- neither counts the drop again nor admits the event after all.
ALTER TABLE room_events ADD COLUMN backlog_dropped_at timestamptz;
