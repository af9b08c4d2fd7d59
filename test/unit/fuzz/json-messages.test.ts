import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonMessageParser, messageError, messageText, type EngineMessage } from '../../../src/engine/json-messages.ts';
import { runs } from './fuzz.ts';

function parseInPieces(bytes: Buffer, cuts: readonly number[]): EngineMessage[] {
  const parser = new JsonMessageParser();
  const messages: EngineMessage[] = [];
  let from = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    messages.push(...parser.push(bytes.subarray(from, cut)));
    from = cut;
  }
  messages.push(...parser.push(bytes.subarray(from)), ...parser.end());
  return messages;
}

describe("the engine's JSON message stream parser under fuzzing", () => {
  it('gives the same messages however the stream is cut (inside UTF-8 characters too), and never throws', () => {
    const line = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constant('{"errorDetail":{"message":"no space left on device"},"error":"no space left on device"}'),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, cuts) => {
        const bytes = Buffer.from(lines.join('\n'));
        const whole = parseInPieces(bytes, []);
        expect(parseInPieces(bytes, cuts)).toEqual(whole);
        for (const message of whole) {
          expect(['string', 'undefined']).toContain(typeof messageError(message));
          expect(typeof messageText(message)).toBe('string');
        }
      }),
      runs(2000),
    );
  });

  it('an error inside the stream is found wherever the cut falls', () => {
    const error = '{"errorDetail":{"message":"layer refused"},"error":"layer refused"}';
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n')), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (before, cuts) => {
        const bytes = Buffer.from([...before.map((b) => JSON.stringify({ stream: b })), error, ''].join('\n'));
        expect(parseInPieces(bytes, cuts).map(messageError).filter((e) => e !== undefined)).toEqual(['layer refused']);
      }),
      runs(1000),
    );
  });
});
