import { payloadShapeKey, valuesKey } from '../../src/domain/payload-shape.js';
import type { ChatCompletionRequest } from '../fake-llm.js';
import { decide, type Stream } from './stream.js';

// The stand-in model of bench:llm, a perfect one: it reads hookwise's actual matcher prompt (the
// definitions listed in priority order with their ids and names, then "Event payload:" and the JSON,
// see src/llm/llm.ts), decides with the stream's ground truth, and names in `decidedBy` exactly the
// fields its decision read. It counts its calls, in all and per (shape, deciding values) pair.

const MATCHER_PROMPT = 'You classify an incoming webhook event';
const LISTED = /^\d+\. id: (".*")\n {3}name: (.*)\n {3}description: .*$/gm;

export interface PerfectModel {
  answer(body: ChatCompletionRequest): string;
  /** Matcher calls since the last reset. */
  matchCalls(): number;
  /** Other calls (a room agent on an admitted item) since the last reset. */
  otherCalls(): number;
  /** Matcher calls per pair since the last reset. */
  callsPerPair(): Map<string, number>;
  /** Requests it could not read (a prompt or payload it does not know); each answered 500. */
  unreadable(): string[];
  reset(): void;
}

export function perfectModel(stream: Stream): PerfectModel {
  const byName = new Map(stream.definitions.map((d) => [d.name, d]));
  let match = 0;
  let other = 0;
  let perPair = new Map<string, number>();
  const unreadable: string[] = [];
  const fail = (why: string): never => {
    if (unreadable.length < 20) unreadable.push(why);
    throw new Error(why);
  };

  return {
    answer(body) {
      const system = body.messages?.[0]?.content ?? '';
      if (body.response_format?.type !== 'json_object' || !system.startsWith(MATCHER_PROMPT)) {
        other++;
        return 'Noted; nothing to do.';
      }
      match++;
      const listed = [...system.matchAll(LISTED)].map((m) => ({ id: JSON.parse(m[1]) as string, name: m[2] }));
      if (listed.length === 0) fail('no definitions found in the matcher prompt');
      const definitions = listed.map((l) => byName.get(l.name) ?? fail(`unknown definition ${JSON.stringify(l.name)} in the prompt`));
      const user = body.messages?.find((m) => m.role === 'user')?.content ?? '';
      let payload: unknown;
      try {
        payload = JSON.parse(user.slice(user.indexOf('\n') + 1));
      } catch {
        fail(`the payload in the user message is not JSON: ${user.slice(0, 80)}`);
      }
      const shapeKey = payloadShapeKey(payload);
      const shape = stream.shapeByKey.get(shapeKey);
      if (shape === undefined) fail('a payload of no known shape');
      const truth = decide(stream.shapes[shape!], payload, definitions);
      const pair = `${shapeKey}:${valuesKey(payload, truth.decidedBy)}`;
      perPair.set(pair, (perPair.get(pair) ?? 0) + 1);
      const definitionId = truth.definition === null ? null : listed.find((l) => l.name === truth.definition)!.id;
      const reason = truth.definition === null ? `a ${stream.shapes[shape!].name} event that none of the definitions describe` : `it is ${truth.definition}`;
      return JSON.stringify({ definitionId, reason, decidedBy: truth.decidedBy });
    },
    matchCalls: () => match,
    otherCalls: () => other,
    callsPerPair: () => perPair,
    unreadable: () => unreadable,
    reset() {
      match = 0;
      other = 0;
      perPair = new Map();
    },
  };
}
