-- Up Migration

-- A bulk operation replays each original at most once, whatever its workflow does: a batch retried
-- while the first try still runs, or a cursor that named a row again, cannot send an event twice.
-- Replays that already broke this (their operation's counts went past its total) keep their
-- delivery but no longer count towards the operation.
UPDATE deliveries d SET operation_id = NULL
  FROM (SELECT id, row_number() OVER (PARTITION BY operation_id, replay_of ORDER BY created_at, id) AS n
          FROM deliveries WHERE operation_id IS NOT NULL) dup
 WHERE d.id = dup.id AND dup.n > 1;
CREATE UNIQUE INDEX deliveries_one_replay_per_operation ON deliveries (operation_id, replay_of)
  WHERE operation_id IS NOT NULL;
