-- Up Migration

-- Room events whose workflow started but never matched them: a run an operator terminated while the
-- model judged, say. Recovery looks for them (flows/room-event.ts); the index holds only such rows,
-- which are few (every event is matched within seconds of its start, or waits on the model).
CREATE INDEX room_events_unsettled ON room_events ((coalesce(start_retry_at, workflow_started_at)))
  WHERE workflow_started_at IS NOT NULL AND outcome IS NULL AND start_error IS NULL;
