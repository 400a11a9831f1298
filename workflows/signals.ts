import { defineSignal } from '@temporalio/workflow';

// Shared by the room scheduler workflow and the code that signals it (API routes and activities).

/** A human reply (or channel message) arrived: run the room's backlog now instead of at the next tick. */
export const triggerImmediate = defineSignal('triggerImmediate');

/** An item was admitted: make sure the scheduler runs; it is picked up at the next tick. */
export const backlogChanged = defineSignal('backlogChanged');
