// The business-event definitions of bench:llm, in priority order: description-only (no rule), so
// only a model can judge them, and several depend on values ("an invoice over 1,000", "a message that
// asks for a refund", "a charge in EUR"). `test` is the ground truth a perfect model applies; it sees
// a payload through the facts its shape exposes (./shapes.ts), and every fact it reads is a field
// its decision depended on.

/** What a payload can say, whatever its sender calls the field. */
export type Fact =
  | 'event'
  | 'amount'
  | 'currency'
  | 'message'
  | 'branch'
  | 'merged'
  | 'label'
  | 'conclusion'
  | 'callStatus'
  | 'priority'
  | 'plan'
  | 'quantity'
  | 'total'
  | 'shipmentStatus'
  | 'rating';

/** What a shape is about; fixed by its structure, so knowing it reads no value. */
export type Kind =
  | 'invoice'
  | 'charge'
  | 'dispute'
  | 'subscription'
  | 'push'
  | 'pull_request'
  | 'issue'
  | 'workflow_run'
  | 'sms'
  | 'chat'
  | 'email'
  | 'call'
  | 'ticket'
  | 'signup'
  | 'inventory'
  | 'order'
  | 'shipment'
  | 'review'
  | 'other';

export interface DefinitionSpec {
  /** Unique; the stand-in model finds the definition by it in hookwise's prompt. */
  name: string;
  description: string;
  kinds: readonly Kind[];
  test(fact: (f: Fact) => unknown): boolean;
}

/** Message texts of every messaging shape: a small set, so (shape, text) pairs repeat. */
export const MESSAGES = [
  'I want a refund for my last order',
  'Please give me my money back, the item arrived broken',
  'Can I get a refund?',
  'Where is my package?',
  'Thanks, all good!',
  'STOP',
  'UNSUBSCRIBE',
  'What are your opening hours?',
] as const;
const REFUND = new Set<string>(MESSAGES.slice(0, 3));
const OPT_OUT = new Set<string>(['STOP', 'UNSUBSCRIBE']);

export const DEFINITIONS: readonly DefinitionSpec[] = [
  {
    name: 'refund request',
    description: 'A customer message (SMS, WhatsApp, chat, e-mail or support ticket) that asks for a refund or for their money back.',
    kinds: ['sms', 'chat', 'email', 'ticket'],
    test: (f) => REFUND.has(f('message') as string),
  },
  {
    name: 'opt-out',
    description: 'An SMS or WhatsApp message asking to stop receiving messages (STOP, UNSUBSCRIBE).',
    kinds: ['sms'],
    test: (f) => OPT_OUT.has(f('message') as string),
  },
  {
    name: 'large invoice paid',
    description: 'An invoice was paid for more than 1,000 (in the currency\'s main unit, e.g. over 1,000.00 USD).',
    kinds: ['invoice'],
    test: (f) => f('event') === 'invoice.paid' && (f('amount') as number) > 1000,
  },
  {
    name: 'invoice payment failed',
    description: 'Payment of an invoice failed.',
    kinds: ['invoice'],
    test: (f) => f('event') === 'invoice.payment_failed',
  },
  {
    name: 'EUR charge',
    description: 'A card charge or payment in EUR succeeded.',
    kinds: ['charge'],
    test: (f) => f('event') === 'succeeded' && f('currency') === 'eur',
  },
  {
    name: 'charge failed',
    description: 'A card charge or payment failed.',
    kinds: ['charge'],
    test: (f) => f('event') === 'failed',
  },
  {
    name: 'dispute opened',
    description: 'A customer opened a payment dispute (chargeback).',
    kinds: ['dispute'],
    test: (f) => f('event') === 'charge.dispute.created',
  },
  {
    name: 'subscription cancelled',
    description: 'A subscription was cancelled.',
    kinds: ['subscription'],
    test: (f) => f('event') === 'customer.subscription.deleted',
  },
  {
    name: 'push to main',
    description: 'Commits were pushed to the main branch of a repository.',
    kinds: ['push'],
    test: (f) => f('branch') === 'refs/heads/main',
  },
  {
    name: 'pull request merged',
    description: 'A pull request was merged.',
    kinds: ['pull_request'],
    test: (f) => f('event') === 'closed' && f('merged') === true,
  },
  {
    name: 'security issue',
    description: 'An issue was opened with the "security" label.',
    kinds: ['issue'],
    test: (f) => f('event') === 'opened' && f('label') === 'security',
  },
  {
    name: 'CI failed',
    description: 'A CI workflow run finished with a failure.',
    kinds: ['workflow_run'],
    test: (f) => f('conclusion') === 'failure',
  },
  {
    name: 'missed call',
    description: 'A phone call that nobody answered (no answer, busy or failed).',
    kinds: ['call'],
    test: (f) => ['no-answer', 'busy', 'failed'].includes(f('callStatus') as string),
  },
  {
    name: 'urgent ticket',
    description: 'A support ticket with urgent priority.',
    kinds: ['ticket'],
    test: (f) => f('priority') === 'urgent',
  },
  {
    name: 'enterprise signup',
    description: 'A new customer signed up for the enterprise plan.',
    kinds: ['signup'],
    test: (f) => f('plan') === 'enterprise',
  },
  {
    name: 'low stock',
    description: 'The stock of an item fell below 10 units.',
    kinds: ['inventory'],
    test: (f) => (f('quantity') as number) < 10,
  },
  {
    name: 'large order',
    description: 'An order with a total over 500 was placed.',
    kinds: ['order'],
    test: (f) => (f('total') as number) > 500,
  },
  {
    name: 'shipment delayed',
    description: 'A shipment is delayed.',
    kinds: ['shipment'],
    test: (f) => f('shipmentStatus') === 'delayed',
  },
  {
    name: 'bad review',
    description: 'A customer left a product review of 1 or 2 stars.',
    kinds: ['review'],
    test: (f) => (f('rating') as number) <= 2,
  },
  {
    name: 'payment received',
    description: 'Any other payment received: a paid invoice or a succeeded charge, whatever the amount or currency.',
    kinds: ['invoice', 'charge'],
    test: (f) => f('event') === 'invoice.paid' || f('event') === 'succeeded',
  },
];
