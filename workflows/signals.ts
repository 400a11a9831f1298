import { defineSignal } from '@temporalio/workflow';

// Signals, shared by the workflows that handle them and the code that sends them.

/** A human reply (or channel message) arrived: run the room's backlog now instead of at the next tick. */
export const triggerImmediate = defineSignal('triggerImmediate');

/** An item was admitted: the scheduler runs it at the next tick boundary. */
export const backlogChanged = defineSignal('backlogChanged');

/** An attempt of the same webhook finished and released an in-flight slot: try again now. */
export const slotFreed = defineSignal('slotFreed');

/** One of a bulk operation's replays ended: the operation may replay the next one now. */
export const replayLanded = defineSignal('replayLanded');
