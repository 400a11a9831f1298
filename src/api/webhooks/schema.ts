import { z } from 'zod';
import { ruleSchema } from '../../domain/rules.js';

// Header names are RFC 9110 tokens; values may not carry CR/LF (header injection).
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name');
const headerValue = z.string().max(4096).regex(/^[^\r\n\0]*$/, 'header values cannot contain line breaks');
const seconds = z.number().min(0).max(7 * 86_400);

export const retryPolicySchema = z
  .object({
    policy: z.enum(['exponential', 'fixed']).optional(),
    attempts: z.number().int().min(1).max(100).optional(),
    delaySeconds: seconds.optional(),
    scheduleSeconds: z.array(seconds).min(1).max(100).optional(),
    maxDelaySeconds: seconds.optional(),
  })
  .strict();

const rateLimitSchema = z
  .object({
    maxInFlight: z.number().int().min(1).max(1000).nullable().optional(),
    // Each start of the minute is a lease row (exact limits without a lock): bounded accordingly.
    maxPerMinute: z.number().int().min(1).max(10_000).nullable().optional(),
  })
  .strict();

const fields = {
  url: z.string().url('must be an absolute URL'),
  events: z.array(z.string().min(1).max(200)).min(1, 'list at least one event type, or "*"').max(200),
  sessionId: z.string().min(1).max(200).nullable().optional(),
  // Checked against the event envelope at fan-out: {"path": "data.amount", …}, {"all": […]}, …
  filter: ruleSchema.nullable().optional(),
  customHeaders: z.record(headerName, headerValue).optional(),
  retryPolicy: retryPolicySchema.optional(),
  name: z.string().max(200).nullable().optional(),
  active: z.boolean().optional(),
  rateLimit: rateLimitSchema.optional(),
};

export const createWebhookSchema = z
  .object({ ...fields, secret: z.string().min(16, 'must be at least 16 characters').max(512).optional() })
  .strict();

export const updateWebhookSchema = z
  .object({ ...fields, url: fields.url.optional(), events: fields.events.optional() })
  .strict();

export const rotateSecretSchema = z
  .object({ secret: z.string().min(16, 'must be at least 16 characters').max(512).optional() })
  .strict();

/** Epoch milliseconds or an ISO 8601 date-time, in a query string. */
const instant = z.union([z.coerce.number().int().min(0), z.iso.datetime({ offset: true })]).transform((v) => new Date(v));

export const listDeliveriesQuery = z.object({
  status: z.enum(['pending', 'retrying', 'succeeded', 'dead', 'cancelled']).optional(),
  webhookId: z.string().min(1).max(200).optional(),
  eventType: z.string().min(1).max(200).optional(),
  since: instant.optional(),
  until: instant.optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
