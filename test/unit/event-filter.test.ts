import { describe, it, expect } from 'vitest';
import { webhookMatches } from '../../src/domain/event-filter.js';

const hook = (over: Partial<{ events: string[]; sessionId: string | null; active: boolean }> = {}) => ({
  events: ['message'],
  sessionId: null,
  active: true,
  ...over,
});

describe('webhookMatches', () => {
  it('matches a subscribed type', () => {
    expect(webhookMatches(hook(), { type: 'message' })).toBe(true);
  });

  it('skips other types', () => {
    expect(webhookMatches(hook(), { type: 'poll.vote' })).toBe(false);
  });

  it('matches every type with *', () => {
    expect(webhookMatches(hook({ events: ['*'] }), { type: 'anything.at.all' })).toBe(true);
  });

  it('never matches an inactive webhook', () => {
    expect(webhookMatches(hook({ active: false, events: ['*'] }), { type: 'message' })).toBe(false);
  });

  it('an unscoped webhook takes events of any session or none', () => {
    expect(webhookMatches(hook(), { type: 'message', sessionId: 's1' })).toBe(true);
    expect(webhookMatches(hook(), { type: 'message', sessionId: null })).toBe(true);
    expect(webhookMatches(hook(), { type: 'message' })).toBe(true);
  });

  it('a scoped webhook takes only its own session', () => {
    const scoped = hook({ sessionId: 's1' });
    expect(webhookMatches(scoped, { type: 'message', sessionId: 's1' })).toBe(true);
    expect(webhookMatches(scoped, { type: 'message', sessionId: 's2' })).toBe(false);
    expect(webhookMatches(scoped, { type: 'message', sessionId: null })).toBe(false);
    expect(webhookMatches(scoped, { type: 'message' })).toBe(false);
  });
});
