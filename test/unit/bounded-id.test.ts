import { describe, expect, it } from 'vitest';
import { boundedPart, MAX_WORKFLOW_ID_BYTES, workflowId } from '../../src/domain/bounded-id.js';
import { genericEventWorkflowId } from '../../src/flows/generic-event.js';
import { deliveryWorkflowId } from '../../src/flows/delivery.js';
import { derivedId, newId } from '../../src/domain/ids.js';

describe('bounded workflow ids', () => {
  it('keeps short plain keys as they are, so ids read well in the Temporal UI', () => {
    expect(boundedPart('inv-7')).toBe('inv-7');
    expect(boundedPart('evt_123:abc/def')).toBe('evt_123:abc/def');
  });

  it('turns long or unusual keys into a readable prefix and a hash of the whole key', () => {
    for (const key of ['k'.repeat(65), 'x'.repeat(20_000), 'ключ идемпотентности', 'with space', 'a~b', '日本'.repeat(40)]) {
      const part = boundedPart(key);
      expect(part).toMatch(/^[A-Za-z0-9_.:@/+=-]{0,40}~[A-Za-z0-9_-]{27}$/);
      expect(boundedPart(key)).toBe(part);
    }
    // Keys differing only past the prefix stay distinct.
    expect(boundedPart(`${'p'.repeat(100)}1`)).not.toBe(boundedPart(`${'p'.repeat(100)}2`));
    // A kept key never looks like a hashed one.
    expect(boundedPart('abc~def')).toContain('~');
    expect(boundedPart('abc~def')).not.toBe('abc~def');
  });

  it('every generic event id fits in 255 bytes, whatever the dedupe key', () => {
    const ws = newId('ws');
    for (const len of [1, 64, 65, 300, 1_000, 5_000, 20_000]) {
      const id = genericEventWorkflowId(ws, 'é'.repeat(len), newId('inb'));
      expect(Buffer.byteLength(id)).toBeLessThanOrEqual(MAX_WORKFLOW_ID_BYTES);
    }
    expect(Buffer.byteLength(deliveryWorkflowId(newId('wh'), newId('evt'), newId('dlv')))).toBeLessThanOrEqual(MAX_WORKFLOW_ID_BYTES);
  });

  it('refuses to build an id over the limit from parts that were not bounded', () => {
    expect(() => workflowId('x', 'y'.repeat(300))).toThrow(/255 bytes/);
  });
});

describe('derived ids', () => {
  it('are stable per (id, purpose) and differ between purposes', () => {
    const item = newId('item');
    const completed = derivedId('evt', item, 'room.agent.completed');
    expect(derivedId('evt', item, 'room.agent.completed')).toBe(completed);
    expect(derivedId('evt', item, 'room.agent.failed')).not.toBe(completed);
    expect(completed).toMatch(/^evt_[0-9A-Z]{26}$/);
    // The time part is kept, so derived ids sort with their source.
    expect(completed.slice(4, 14)).toBe(item.slice(5, 15));
  });
});
