import { expect } from 'vitest';
import { waitFor } from './wait.js';

/**
 * The JSON text of `value` as an iterator of parts of `size` characters, for the links' tests of
 * messages sent in parts, with a count of the event-loop turns the parts were taken in.
 * `costMs`: how long making each part takes (busy), so that a turn holds a few, not all.
 */
export function partsOverTurns(value: unknown, size: number, costMs = 0): { parts: Iterator<string>; turns(): number } {
  let turns = 0;
  let turnOpen = false;
  function* parts(): Generator<string> {
    const text = JSON.stringify(value);
    for (let at = 0; at < text.length; at += size) {
      if (!turnOpen) {
        turns++;
        turnOpen = true;
        setImmediate(() => (turnOpen = false));
      }
      const until = performance.now() + costMs;
      while (performance.now() < until);
      yield text.slice(at, at + size);
    }
  }
  return { parts: parts(), turns: () => turns };
}

/** The side of a pipe or port link the parts tests drive. */
interface PartsLink {
  sendEncoded(text: string): void;
  sendInParts(parts: Iterator<string>): void;
  send(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * Sends a message of 1M items in parts of 64 KB (13 MB: more than a pipe or port takes in one
 * turn), with whole messages and a small message in parts before, between and after it, and
 * checks that `receiver` gets all five in order and that the big one took several turns.
 * `costMs`: how long making each part takes (see `partsOverTurns`).
 */
export async function expectPartsInOrder(sender: PartsLink, receiver: PartsLink, { costMs = 0, timeoutMs }: { costMs?: number; timeoutMs: number }): Promise<void> {
  const got: unknown[] = [];
  receiver.on('message', (message) => got.push(message));
  const big = { list: Array.from({ length: 1_000_000 }, (_, i) => `item ${i}`) };
  const { parts, turns } = partsOverTurns(big, 65_536, costMs);
  sender.sendEncoded('{"n":1}');
  sender.sendInParts(parts);
  sender.sendEncoded('{"n":2}');
  sender.sendInParts(['{"n":', '3}'][Symbol.iterator]());
  sender.send({ n: 4 });
  await waitFor(() => got.length === 5, timeoutMs, 'five messages');
  expect(got).toEqual([{ n: 1 }, big, { n: 2 }, { n: 3 }, { n: 4 }]);
  expect(turns()).toBeGreaterThan(1);
}
