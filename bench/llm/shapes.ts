import type { Fact, Kind } from './definitions.js';
import { MESSAGES } from './definitions.js';
import type { Rand } from './rand.js';

// The payload shapes of bench:llm: Stripe-, GitHub-, Twilio- and custom-like JSON. Each base shape
// comes in two variants (the second with an extra block its sender adds), 2 × 25 = 50 structures.
// Fields a definition can depend on take values from small sets, so (shape, deciding values) pairs
// repeat; ids, timestamps and free text come from large sets, so no two payloads are alike and a
// cache keyed on the whole payload would never hit. Each shape keeps one structure whatever its
// values (arrays always hold elements of one shape), so it has one payload-shape key.

/** Reads a field, recording that the decision depended on it. */
export type Get = (path: string) => unknown;

export interface ShapeSpec {
  name: string;
  kind: Kind;
  build(r: Rand): Record<string, unknown>;
  /** How to read each fact this shape carries; a fact a shape lacks reads nothing. */
  facts: Partial<Record<Fact, (get: Get) => unknown>>;
}

type Provider = 'stripe' | 'github' | 'twilio' | 'custom';

interface BaseShape extends ShapeSpec {
  provider: Provider;
}

const cents = [50_000, 99_900, 100_000, 100_100, 250_000, 1_200_000];
const currencies = ['usd', 'eur', 'gbp', 'jpy'];

function stripe(r: Rand, type: string, object: Record<string, unknown>): Record<string, unknown> {
  return { id: r.id('evt_', 24), object: 'event', api_version: '2024-06-20', created: r.timestamp(), livemode: r.bool(), type, data: { object } };
}

const repository = (r: Rand) => ({ id: r.int(1e9), full_name: `${r.word()}/${r.word()}-${r.int(1000)}`, private: r.bool(), default_branch: 'main' });
const sender = (r: Rand) => ({ login: `${r.word()}${r.int(10_000)}`, id: r.int(1e8), type: 'User' });
const phone = (r: Rand) => `+1${String(2_000_000_000 + r.int(7_999_999_999)).slice(0, 10)}`;
const iso = (r: Rand) => new Date(r.timestamp() * 1000).toISOString();

const BASES: BaseShape[] = [
  {
    name: 'stripe invoice',
    provider: 'stripe',
    kind: 'invoice',
    build: (r) =>
      stripe(r, r.pick(['invoice.paid', 'invoice.payment_failed', 'invoice.finalized']), {
        id: r.id('in_', 24),
        object: 'invoice',
        amount_paid: r.pick(cents),
        amount_due: r.int(5_000_000),
        currency: r.pick(currencies),
        customer: r.id('cus_', 14),
        customer_email: r.email(),
        description: r.sentence(),
        number: `${r.id('', 8).toUpperCase()}-${r.int(10_000)}`,
      }),
    facts: { event: (g) => g('type'), amount: (g) => (g('data.object.amount_paid') as number) / 100 },
  },
  {
    name: 'stripe invoice with lines',
    provider: 'stripe',
    kind: 'invoice',
    build: (r) =>
      stripe(r, r.pick(['invoice.paid', 'invoice.payment_failed', 'invoice.upcoming']), {
        id: r.id('in_', 24),
        object: 'invoice',
        total: r.pick(cents),
        currency: r.pick(currencies),
        customer: r.id('cus_', 14),
        lines: {
          object: 'list',
          data: Array.from({ length: 1 + r.int(3) }, () => ({ id: r.id('il_', 24), amount: r.int(1_000_000), description: r.sentence() })),
        },
      }),
    facts: { event: (g) => g('type'), amount: (g) => (g('data.object.total') as number) / 100 },
  },
  {
    name: 'stripe charge',
    provider: 'stripe',
    kind: 'charge',
    build: (r) =>
      stripe(r, r.pick(['charge.succeeded', 'charge.failed', 'charge.refunded']), {
        id: r.id('ch_', 24),
        object: 'charge',
        amount: r.int(1_000_000),
        currency: r.pick(currencies),
        receipt_email: r.email(),
        payment_method_details: { type: 'card', card: { brand: r.pick(['visa', 'mastercard', 'amex']), last4: String(1000 + r.int(9000)) } },
        description: r.sentence(),
      }),
    facts: {
      event: (g) => ({ 'charge.succeeded': 'succeeded', 'charge.failed': 'failed' })[g('type') as string] ?? g('type'),
      currency: (g) => g('data.object.currency'),
    },
  },
  {
    name: 'stripe payment intent',
    provider: 'stripe',
    kind: 'charge',
    build: (r) =>
      stripe(r, r.pick(['payment_intent.succeeded', 'payment_intent.payment_failed', 'payment_intent.created']), {
        id: r.id('pi_', 24),
        object: 'payment_intent',
        amount_received: r.int(1_000_000),
        currency: r.pick(currencies),
        customer: r.id('cus_', 14),
        metadata: { order_id: r.id('ord_', 10), note: r.sentence() },
      }),
    facts: {
      event: (g) => ({ 'payment_intent.succeeded': 'succeeded', 'payment_intent.payment_failed': 'failed' })[g('type') as string] ?? g('type'),
      currency: (g) => g('data.object.currency'),
    },
  },
  {
    name: 'stripe dispute',
    provider: 'stripe',
    kind: 'dispute',
    build: (r) =>
      stripe(r, r.pick(['charge.dispute.created', 'charge.dispute.updated', 'charge.dispute.closed']), {
        id: r.id('dp_', 24),
        object: 'dispute',
        amount: r.int(500_000),
        charge: r.id('ch_', 24),
        reason: r.pick(['fraudulent', 'duplicate', 'product_not_received', 'unrecognized', 'general']),
        evidence_details: { due_by: r.timestamp(), submission_count: r.int(3) },
      }),
    facts: { event: (g) => g('type') },
  },
  {
    name: 'stripe subscription',
    provider: 'stripe',
    kind: 'subscription',
    build: (r) =>
      stripe(r, r.pick(['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted']), {
        id: r.id('sub_', 24),
        object: 'subscription',
        customer: r.id('cus_', 14),
        plan: { id: r.id('price_', 24), amount: r.int(100_000), interval: r.pick(['month', 'year']) },
        current_period_end: r.timestamp(),
      }),
    facts: { event: (g) => g('type') },
  },
  {
    name: 'stripe customer',
    provider: 'stripe',
    kind: 'other',
    build: (r) =>
      stripe(r, r.pick(['customer.created', 'customer.updated']), { id: r.id('cus_', 14), object: 'customer', email: r.email(), name: r.name(), balance: r.int(10_000) }),
    facts: {},
  },
  {
    name: 'github push',
    provider: 'github',
    kind: 'push',
    build: (r) => ({
      ref: r.pick(['refs/heads/main', 'refs/heads/dev', 'refs/heads/feature/login', 'refs/tags/v1.2.0']),
      before: r.id('', 40),
      after: r.id('', 40),
      repository: repository(r),
      pusher: { name: r.name(), email: r.email() },
      commits: Array.from({ length: 1 + r.int(3) }, () => ({ id: r.id('', 40), message: r.sentence(), timestamp: iso(r) })),
      sender: sender(r),
    }),
    facts: { branch: (g) => g('ref') },
  },
  {
    name: 'github pull request',
    provider: 'github',
    kind: 'pull_request',
    build: (r) => ({
      action: r.pick(['opened', 'closed', 'synchronize', 'reopened']),
      number: r.int(10_000),
      pull_request: { id: r.int(1e9), title: r.sentence(), merged: r.bool(), body: r.sentence(), user: sender(r) },
      repository: repository(r),
      sender: sender(r),
    }),
    facts: { event: (g) => g('action'), merged: (g) => g('pull_request.merged') },
  },
  {
    name: 'github issue',
    provider: 'github',
    kind: 'issue',
    build: (r) => ({
      action: r.pick(['opened', 'closed', 'edited']),
      issue: {
        number: r.int(10_000),
        title: r.sentence(),
        body: r.sentence(),
        labels: [{ id: r.int(1e8), name: r.pick(['bug', 'security', 'docs', 'enhancement']) }],
      },
      repository: repository(r),
      sender: sender(r),
    }),
    facts: { event: (g) => g('action'), label: (g) => g('issue.labels.0.name') },
  },
  {
    name: 'github workflow run',
    provider: 'github',
    kind: 'workflow_run',
    build: (r) => ({
      action: 'completed',
      workflow_run: { id: r.int(1e10), name: `${r.word()} ${r.word()}`, head_branch: r.word(), run_number: r.int(5_000), conclusion: r.pick(['success', 'failure', 'cancelled']) },
      repository: repository(r),
      sender: sender(r),
    }),
    facts: { conclusion: (g) => g('workflow_run.conclusion') },
  },
  {
    name: 'github star',
    provider: 'github',
    kind: 'other',
    build: (r) => ({ action: r.pick(['created', 'deleted']), starred_at: iso(r), repository: repository(r), sender: sender(r) }),
    facts: {},
  },
  {
    name: 'github release',
    provider: 'github',
    kind: 'other',
    build: (r) => ({ action: 'published', release: { id: r.int(1e9), tag_name: `v${r.int(10)}.${r.int(30)}.${r.int(100)}`, name: r.sentence(), body: r.sentence() }, repository: repository(r) }),
    facts: {},
  },
  {
    name: 'twilio sms',
    provider: 'twilio',
    kind: 'sms',
    build: (r) => ({ MessageSid: r.id('SM', 32), AccountSid: r.id('AC', 32), From: phone(r), To: phone(r), Body: r.pick(MESSAGES), NumMedia: '0', FromCity: r.word().toUpperCase() }),
    facts: { message: (g) => g('Body') },
  },
  {
    name: 'twilio whatsapp',
    provider: 'twilio',
    kind: 'sms',
    build: (r) => ({ SmsMessageSid: r.id('SM', 32), AccountSid: r.id('AC', 32), From: `whatsapp:${phone(r)}`, To: `whatsapp:${phone(r)}`, Body: r.pick(MESSAGES), ProfileName: r.name(), WaId: phone(r).slice(1) }),
    facts: { message: (g) => g('Body') },
  },
  {
    name: 'twilio call status',
    provider: 'twilio',
    kind: 'call',
    build: (r) => ({ CallSid: r.id('CA', 32), AccountSid: r.id('AC', 32), From: phone(r), To: phone(r), CallStatus: r.pick(['completed', 'no-answer', 'busy', 'failed']), CallDuration: String(r.int(3600)), Direction: r.pick(['inbound', 'outbound-api']) }),
    facts: { callStatus: (g) => g('CallStatus') },
  },
  {
    name: 'support ticket',
    provider: 'custom',
    kind: 'ticket',
    build: (r) => ({
      ticket: { id: r.int(1e7), subject: r.sentence(), message: r.pick(MESSAGES), priority: r.pick(['low', 'normal', 'high', 'urgent']), requester: { name: r.name(), email: r.email() } },
      created_at: iso(r),
    }),
    facts: { message: (g) => g('ticket.message'), priority: (g) => g('ticket.priority') },
  },
  {
    name: 'chat message',
    provider: 'custom',
    kind: 'chat',
    build: (r) => ({ event: 'message.created', message: { id: r.id('msg_', 16), text: r.pick(MESSAGES), user: { id: r.id('u_', 10), name: r.name() }, channel: r.word() }, ts: r.timestamp() }),
    facts: { message: (g) => g('message.text') },
  },
  {
    name: 'inbound email',
    provider: 'custom',
    kind: 'email',
    build: (r) => ({ from: r.email(), to: 'support@example.com', subject: r.sentence(), text: r.pick(MESSAGES), headers: { message_id: `<${r.id('', 20)}@mail.example.com>`, date: iso(r) } }),
    facts: { message: (g) => g('text') },
  },
  {
    name: 'signup',
    provider: 'custom',
    kind: 'signup',
    build: (r) => ({ type: 'user.signed_up', user: { id: r.id('usr_', 12), email: r.email(), plan: r.pick(['free', 'pro', 'team', 'enterprise']), company: `${r.word()} ${r.pick(['Inc', 'GmbH', 'Ltd'])}` }, at: iso(r) }),
    facts: { plan: (g) => g('user.plan') },
  },
  {
    name: 'inventory level',
    provider: 'custom',
    kind: 'inventory',
    build: (r) => ({ sku: r.id('SKU-', 8).toUpperCase(), warehouse: `${r.word()}-${r.int(100)}`, quantity: r.pick([0, 3, 9, 10, 11, 50, 200]), updated_at: iso(r) }),
    facts: { quantity: (g) => g('quantity') },
  },
  {
    name: 'order placed',
    provider: 'custom',
    kind: 'order',
    build: (r) => ({
      order_id: r.id('ord_', 12),
      customer: { id: r.id('c_', 10), email: r.email() },
      total: r.pick([19.99, 120, 499.99, 500, 500.01, 899, 2400]),
      currency: r.pick(currencies),
      items: Array.from({ length: 1 + r.int(4) }, () => ({ sku: r.id('SKU-', 8), qty: 1 + r.int(5), price: r.int(100_000) / 100 })),
      placed_at: iso(r),
    }),
    facts: { total: (g) => g('total') },
  },
  {
    name: 'shipment update',
    provider: 'custom',
    kind: 'shipment',
    build: (r) => ({ tracking_number: r.id('1Z', 16).toUpperCase(), carrier: r.pick(['ups', 'dhl', 'fedex']), status: r.pick(['in_transit', 'delayed', 'delivered', 'exception']), eta: iso(r), note: r.sentence() }),
    facts: { shipmentStatus: (g) => g('status') },
  },
  {
    name: 'product review',
    provider: 'custom',
    kind: 'review',
    build: (r) => ({ review: { id: r.id('rev_', 12), product_id: r.id('prod_', 10), rating: 1 + r.int(5), title: r.sentence(), body: r.sentence(), author: r.name() }, submitted_at: iso(r) }),
    facts: { rating: (g) => g('review.rating') },
  },
  {
    name: 'heartbeat',
    provider: 'custom',
    kind: 'other',
    build: (r) => ({ type: 'ping', sent_at: iso(r), nonce: r.id('', 32) }),
    facts: {},
  },
];

/** The block a sender's second variant adds: the same event, another structure. */
const EXTRA: Record<Provider, (r: Rand) => Record<string, unknown>> = {
  stripe: (r) => ({ request: { id: r.id('req_', 14), idempotency_key: r.id('', 32) }, pending_webhooks: r.int(5) }),
  github: (r) => ({ installation: { id: r.int(1e8), node_id: r.id('MDIz', 20) }, organization: { login: r.word(), id: r.int(1e8) } }),
  twilio: (r) => ({ ApiVersion: '2010-04-01', MessagingServiceSid: r.id('MG', 32) }),
  custom: (r) => ({ meta: { trace_id: r.id('', 32), sdk: `acme-node/${r.int(5)}.${r.int(20)}.0` } }),
};

const EXTRA_NAME: Record<Provider, string> = { stripe: 'request', github: 'installation', twilio: 'ApiVersion', custom: 'meta' };

/** Every shape: the 25 bases, then their second variants. */
export const SHAPES: readonly ShapeSpec[] = [
  ...BASES,
  ...BASES.map((b) => ({ ...b, name: `${b.name} +${EXTRA_NAME[b.provider]}`, build: (r: Rand) => ({ ...b.build(r), ...EXTRA[b.provider](r) }) })),
];
