import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isStorableText, storableString } from '../../src/domain/storable-text.js';

describe('isStorableText', () => {
  it.each(['', 'plain', 'ça va — 😀', '\t\n\r', '\u0001\u001f', '\uffff'])('accepts %j', (s) => {
    expect(isStorableText(s)).toBe(true);
  });
  it.each(['\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800', '😀'.slice(0, 1)])('refuses %j', (s) => {
    expect(isStorableText(s)).toBe(false);
  });
});

describe('storableString', () => {
  it('is a string schema that keeps chaining', () => {
    const schema = z.object({ name: storableString().trim().min(1).max(5) });
    expect(schema.parse({ name: ' ok ' })).toEqual({ name: 'ok' });
    expect(schema.safeParse({ name: 'toolong' }).success).toBe(false);
    expect(schema.safeParse({ name: 1 }).success).toBe(false);
  });

  it('refuses NUL and lone surrogates with the field path', () => {
    const schema = z.object({ tags: z.array(storableString()) });
    for (const bad of ['a\u0000', '\ud800']) {
      const result = schema.safeParse({ tags: ['fine', bad] });
      expect(result.success).toBe(false);
      expect(result.error!.issues[0].path).toEqual(['tags', 1]);
      expect(result.error!.issues[0].message).toMatch(/NUL .* unpaired UTF-16 surrogates/);
    }
  });
});
