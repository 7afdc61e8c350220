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
