import { bulkReplayRecovery } from './bulk-replay.js';
import { deliveryRecovery } from './delivery.js';
import { genericEventRecovery } from './generic-event.js';
import { roomEventRecovery, roomEventRestartRecovery } from './room-event.js';
import { roomSchedulerRecovery } from './room-scheduler.js';
import type { Recoverable } from './recovery.js';

/** Every flow whose work can be recorded in PostgreSQL before its workflow runs: what recovery walks. */
export const RECOVERABLE_FLOWS: readonly Recoverable[] = [
  deliveryRecovery,
  roomEventRecovery,
  roomEventRestartRecovery,
  genericEventRecovery,
  roomSchedulerRecovery,
  bulkReplayRecovery,
];
