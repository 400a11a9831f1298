import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { RoomActivities } from '../activities/rooms.js';
import { localStep, step } from './activity-profiles.js';

/** Marks runs that take their steps as local activities; runs started before replay them as activities. */
const LOCAL_STEPS_PATCH = 'room-steps-local';

const localSteps = proxyLocalActivities<RoomActivities>(localStep);
const activitySteps = proxyActivities<RoomActivities>(step);

/**
 * The room flow's one-row steps (match, settle, tick, claim), for this run: local activities, or
 * activities for a run started before they were local. Called once, before the run's first command.
 */
export function roomSteps() {
  return patched(LOCAL_STEPS_PATCH) ? localSteps : activitySteps;
}
