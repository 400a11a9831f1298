import { z } from 'zod';
import { ruleSchema } from '../../domain/rules.js';
import { VERIFICATION_SCHEMES } from '../../domain/inbound-signatures.js';
import { whsecSecretProblem } from '../../domain/secrets.js';
import { storableString } from '../../domain/storable-text.js';

const name = storableString().trim().min(1).max(200);
// Twilio's auth token, to verify X-Twilio-Signature on the room's channel route; never returned.
const twilioAuthToken = storableString().min(1).max(200);

export const workspaceSchema = z.object({ name }).strict();

export const roomSchema = z
  .object({
    name,
    instructions: storableString().min(1).max(20_000),
    modelTier: z.enum(['fast', 'smart']).optional(),
    twilioAuthToken: twilioAuthToken.optional(),
  })
  .strict();

/** The body of `PATCH /rooms/:id`: what is given changes (the Twilio token has its own route). */
export const roomUpdateSchema = roomSchema.omit({ twilioAuthToken: true }).partial().strict();

/** The body of `PUT /rooms/:id/twilio-auth-token`. */
export const twilioAuthTokenSchema = z.object({ token: twilioAuthToken }).strict();

/** How an event source verifies its senders; also the body of `PUT /event-sources/:id/verification`. */
export const verificationSchema = z
  .object({
    scheme: z.enum(VERIFICATION_SCHEMES),
    secret: storableString().min(1).max(512),
    header: z.string().max(100).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name').optional(),
  })
  .strict()
  .refine((v) => !v.scheme.startsWith('hmac-') || v.header, {
    message: 'plain HMAC verification needs the `header` that carries the signature',
    path: ['header'],
  })
  // Standard Webhooks keys by the decoded `whsec_` payload; Stripe's `whsec_` secrets key the HMAC
  // as a whole string, so they are not checked.
  .superRefine((v, ctx) => {
    const problem = v.scheme === 'standard-webhooks' ? whsecSecretProblem(v.secret) : null;
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['secret'] });
  });

export const eventSourceSchema = z.object({ name, verification: verificationSchema.optional() }).strict();

/** The body of `PATCH /event-sources/:id` (verification and token have their own routes). */
export const eventSourceUpdateSchema = z.object({ name }).strict();

export const definitionSchema = z
  .object({
    name,
    description: storableString().min(1).max(4_000),
    priority: z.number().int().min(-1_000_000).max(1_000_000),
    rule: ruleSchema.optional(),
    instructions: storableString().max(20_000).optional(),
  })
  .strict();

/** The body of `PATCH /definitions/:id`: what is given changes; `rule` or `instructions` null removes it. */
export const definitionUpdateSchema = definitionSchema
  .extend({ rule: ruleSchema.nullable().optional(), instructions: storableString().max(20_000).nullable().optional() })
  .partial()
  .strict();

export const backlogQuery = z.object({
  status: z.enum(['pending', 'processing', 'done', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

export const matchLogQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) });

export const replySchema = z
  .object({ text: storableString().min(1).max(20_000), author: storableString().max(200).optional() })
  .strict();
