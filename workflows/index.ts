// Every workflow the worker runs; the worker bundles this file.
export { deliverWebhook } from './deliver-webhook.js';
