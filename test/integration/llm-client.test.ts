import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLlm, LlmNotConfigured, LlmOutputInvalid, MAX_PAYLOAD_CHARS, type LlmSettings } from '../../src/llm/llm.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm.js';

const definitions = [
  { id: 'def_paid', name: 'Invoice paid', description: 'type is invoice.paid' },
  { id: 'def_failed', name: 'Payment failed', description: 'type is invoice.payment_failed' },
  { id: 'def_any_invoice', name: 'Any invoice', description: 'any invoice event' },
];
const payload = { id: 'evt_1', object: 'event', type: 'invoice.paid', data: { object: { id: 'in_1', status: 'paid' } } };

let fake: FakeLlm;
let settings: LlmSettings;

beforeAll(async () => {
  fake = await startFakeLlm();
  settings = { baseURL: fake.baseURL, models: { fast: 'fast-model', smart: 'smart-model' }, timeoutMs: 5_000 };
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.script(() => JSON.stringify({ definitionId: null, reason: 'no script' }));
});

describe('chooseDefinition', () => {
  it('asks the fast model with the definitions in priority order and returns its choice', async () => {
    fake.script(() => JSON.stringify({ definitionId: 'def_paid', reason: 'type is invoice.paid' }));
    const llm = createLlm(settings);
    expect(llm.configured).toBe(true);

    await expect(llm.chooseDefinition(payload, definitions)).resolves.toEqual({
      definitionId: 'def_paid',
      reason: 'type is invoice.paid',
      // It named no deciding fields.
      decidedBy: null,
    });

    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.model).toBe('fast-model');
    expect(req.body.response_format).toEqual({ type: 'json_object' });
    expect(req.body.temperature).toBe(0);
    expect(req.messages[0].role).toBe('system');
    const system: string = req.messages[0].content;
    for (const d of definitions) {
      expect(system).toContain(d.id);
      expect(system).toContain(d.name);
      expect(system).toContain(d.description);
    }
    const positions = definitions.map((d) => system.indexOf(d.id));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(system).toMatch(/FIRST/);
    expect(system).toContain('"definitionId"');
    // It is asked to name the fields its choice depended on: what the answer may be reused for.
    expect(system).toContain('"decidedBy"');
    const user = req.messages.find((m: any) => m.role === 'user');
    expect(user.content).toContain(JSON.stringify(payload, null, 2));
  });

  it('returns a null choice', async () => {
    fake.script(() => JSON.stringify({ definitionId: null, reason: 'a customer event, not an invoice', decidedBy: ['type', 'type', 'data.object'] }));
    await expect(createLlm(settings).chooseDefinition(payload, definitions)).resolves.toEqual({
      definitionId: null,
      reason: 'a customer event, not an invoice',
      // The fields it named, sorted and without repeats.
      decidedBy: ['data.object', 'type'],
    });
  });

  it('accepts JSON inside a markdown fence', async () => {
    fake.script(() => '```json\n{"definitionId": "def_failed", "reason": "payment failed"}\n```');
    await expect(createLlm(settings).chooseDefinition(payload, definitions)).resolves.toEqual({
      definitionId: 'def_failed',
      reason: 'payment failed',
      decidedBy: null,
    });
  });

  it('rejects malformed JSON as LlmOutputInvalid, quoting what came back', async () => {
    fake.script(() => 'I think it is def_paid');
    const err = await createLlm(settings).chooseDefinition(payload, definitions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmOutputInvalid);
    expect((err as Error).message).toContain('I think it is def_paid');
  });

  it('rejects JSON of the wrong shape as LlmOutputInvalid', async () => {
    fake.script(() => JSON.stringify({ choice: 'def_paid' }));
    await expect(createLlm(settings).chooseDefinition(payload, definitions)).rejects.toBeInstanceOf(LlmOutputInvalid);
  });

  it('rejects an unknown definition id as LlmOutputInvalid', async () => {
    fake.script(() => JSON.stringify({ definitionId: 'def_made_up', reason: 'looks right' }));
    const err = await createLlm(settings).chooseDefinition(payload, definitions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmOutputInvalid);
    expect((err as Error).message).toContain('def_made_up');
  });

  it('throws on an HTTP 500, once (no client retries)', async () => {
    fake.script(() => ({ status: 500 }));
    const err = await createLlm(settings).chooseDefinition(payload, definitions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(LlmOutputInvalid);
    expect((err as { status?: number }).status).toBe(500);
    expect(fake.requests).toHaveLength(1);
  });

  it('throws on a non-JSON HTTP body', async () => {
    fake.script(() => ({ raw: '<html>bad gateway</html>', status: 502 }));
    await expect(createLlm(settings).chooseDefinition(payload, definitions)).rejects.toThrow();
  });

  it('gives up on a slow server within about timeoutMs', async () => {
    fake.script(() => ({ content: '{"definitionId": null, "reason": "late"}', delayMs: 5_000 }));
    const started = Date.now();
    await expect(
      createLlm({ ...settings, timeoutMs: 300 }).chooseDefinition(payload, definitions),
    ).rejects.toThrow(/timed out/i);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('truncates a huge payload', async () => {
    const huge = { type: 'bulk', rows: Array.from({ length: 5_000 }, (_, i) => ({ i, text: 'lorem ipsum' })) };
    await createLlm(settings).chooseDefinition(huge, definitions);
    const user = fake.requests[0].messages.find((m: any) => m.role === 'user');
    expect(user.content.length).toBeLessThan(MAX_PAYLOAD_CHARS + 200);
    expect(user.content).toContain('truncated');
  });

  it('needs no model call when there are no definitions', async () => {
    await expect(createLlm(settings).chooseDefinition(payload, [])).resolves.toMatchObject({ definitionId: null });
    expect(fake.requests).toHaveLength(0);
  });

  it('throws LlmNotConfigured without an API key or base URL', async () => {
    const llm = createLlm({ models: settings.models, timeoutMs: 1_000 });
    expect(llm.configured).toBe(false);
    await expect(llm.chooseDefinition(payload, definitions)).rejects.toBeInstanceOf(LlmNotConfigured);
    await expect(
      llm.runAgent({ tier: 'fast', instructions: 'x', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(LlmNotConfigured);
  });

  it('is configured by an API key alone', () => {
    expect(createLlm({ apiKey: 'sk-test', models: settings.models, timeoutMs: 1_000 }).configured).toBe(true);
  });
});

describe('runAgent', () => {
  it('uses the tier model with the instructions as system message and returns the content', async () => {
    fake.script(() => 'Refund issued for invoice in_1.');
    const text = await createLlm(settings).runAgent({
      tier: 'smart',
      instructions: 'You handle billing events.',
      messages: [
        { role: 'user', content: 'Invoice in_1 was paid twice.' },
        { role: 'assistant', content: 'Checking.' },
        { role: 'user', content: 'Go ahead.' },
      ],
    });
    expect(text).toBe('Refund issued for invoice in_1.');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].model).toBe('smart-model');
    expect(fake.requests[0].messages).toEqual([
      { role: 'system', content: 'You handle billing events.' },
      { role: 'user', content: 'Invoice in_1 was paid twice.' },
      { role: 'assistant', content: 'Checking.' },
      { role: 'user', content: 'Go ahead.' },
    ]);
  });

  it('uses the fast model for the fast tier', async () => {
    fake.script(() => 'ok');
    await createLlm(settings).runAgent({ tier: 'fast', instructions: 'i', messages: [{ role: 'user', content: 'u' }] });
    expect(fake.requests[0].model).toBe('fast-model');
  });

  it('rejects an empty answer as LlmOutputInvalid', async () => {
    fake.script(() => ({}));
    await expect(
      createLlm(settings).runAgent({ tier: 'smart', instructions: 'i', messages: [{ role: 'user', content: 'u' }] }),
    ).rejects.toBeInstanceOf(LlmOutputInvalid);
  });
});
