// Every workflow the worker runs; the worker bundles this file.
export { deliverEvent } from './deliver-event.js';
export { deliverWebhook } from './deliver-webhook.js';
export { ingestRoomEvent } from './ingest-room-event.js';
export { roomScheduler } from './room-scheduler.js';
export { ingestGenericEvent } from './ingest-generic-event.js';
export { agentRun } from './agent-run.js';
export { bulkReplay } from './bulk-replay.js';
export { retention } from './retention.js';
