-- Up Migration

-- Room events whose workflow started but never matched them: a run an operator terminated while the
-- model judged, say. Recovery starts them again (flows/room-event.ts); the index holds only such rows,
-- which are few (every event is matched within seconds of its start, or waits on the model).
CREATE INDEX room_events_unsettled ON room_events ((coalesce(start_retry_at, workflow_started_at)))
  WHERE workflow_started_at IS NOT NULL AND outcome IS NULL AND start_error IS NULL;

-- Rows left so before this migration are not started again: their runs ended under earlier code (a
-- terminate long ago, a history limit reached), and matching them now would set off agent runs and
-- deliveries for events that old. (A run of such a row still going carries on as before.)
UPDATE room_events SET start_error = 'left unmatched before migration 0016; not restarted'
 WHERE workflow_started_at IS NOT NULL AND outcome IS NULL AND start_error IS NULL;
