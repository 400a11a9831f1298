import { z } from 'zod';
import { ruleSchema } from '../../domain/rules.js';
import { whsecSecretProblem } from '../../domain/secrets.js';
import { storableString } from '../../domain/storable-text.js';
import { instant } from '../instant.js';

// Header names are RFC 9110 tokens. Values are what Node will send: tab, visible ASCII and Latin-1
// (no CR/LF, so no header injection; no NUL; nothing Node would refuse at delivery time, every time).
const headerName = z.string().max(256).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name');
const headerValue = z
  .string()
  .max(4096)
  .regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'header values may hold tab, visible ASCII and Latin-1 characters only (no line breaks, no NUL)');
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
  url: storableString().max(2048).url('must be an absolute URL'),
  events: z.array(storableString().min(1).max(200)).min(1, 'list at least one event type, or "*"').max(200),
  sessionId: storableString().min(1).max(200).nullable().optional(),
  // Checked against the event envelope at fan-out: {"path": "data.amount", …}, {"all": […]}, …
  filter: ruleSchema.nullable().optional(),
  customHeaders: z
    .record(headerName, headerValue)
    .refine((h) => Object.keys(h).length <= 50, 'at most 50 custom headers')
    .optional(),
  retryPolicy: retryPolicySchema.optional(),
  name: storableString().max(200).nullable().optional(),
  active: z.boolean().optional(),
  rateLimit: rateLimitSchema.optional(),
};

// A caller-set signing secret. A `whsec_` one must be real base64 of enough bytes, or Standard
// Webhooks would be signed with an empty or tiny key.
const signingSecret = storableString()
  .min(16, 'must be at least 16 characters')
  .max(512)
  .superRefine((secret, ctx) => {
    const problem = whsecSecretProblem(secret);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const createWebhookSchema = z.object({ ...fields, secret: signingSecret.optional() }).strict();

export const updateWebhookSchema = z
  .object({ ...fields, url: fields.url.optional(), events: fields.events.optional() })
  .strict();

export const rotateSecretSchema = z.object({ secret: signingSecret.optional() }).strict();

const at = instant({ fromQuery: true });

export const listDeliveriesQuery = z.object({
  status: z.enum(['pending', 'retrying', 'succeeded', 'dead', 'cancelled']).optional(),
  webhookId: z.string().min(1).max(200).optional(),
  eventType: z.string().min(1).max(200).optional(),
  eventId: z.string().min(1).max(200).optional(),
  since: at.optional(),
  until: at.optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
