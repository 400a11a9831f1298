import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes.js';

/**
 * hookwise's custom search attributes, so operators can filter workflows in the Temporal UI, e.g.
 * `HookwiseWebhook = "wh_…" AND HookwiseDeliveryStatus = "retrying"`. Registered at start-up by the
 * API and the worker; set on every workflow when it starts. (Plain key objects, the shape
 * `defineSearchAttributeKey` returns, so workflow code needs nothing but `@temporalio/workflow`.)
 */
const keyword = (name: string): SearchAttributeKey<'KEYWORD'> => ({ name, type: 'KEYWORD' });

export const HookwiseOrg = keyword('HookwiseOrg');
export const HookwiseWebhook = keyword('HookwiseWebhook');
export const HookwiseEventType = keyword('HookwiseEventType');
export const HookwiseRoom = keyword('HookwiseRoom');
export const HookwiseWorkspace = keyword('HookwiseWorkspace');
/** pending → waiting / retrying → succeeded, dead or cancelled: kept current by the delivery workflow. */
export const HookwiseDeliveryStatus = keyword('HookwiseDeliveryStatus');

export const SEARCH_ATTRIBUTES = [
  HookwiseOrg,
  HookwiseWebhook,
  HookwiseEventType,
  HookwiseRoom,
  HookwiseWorkspace,
  HookwiseDeliveryStatus,
] as const;
