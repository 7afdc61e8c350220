import type { JsonValue } from './value.js';

/**
 * A JSON array whose items are produced as it is encoded, for lists a snapshot must not build in
 * one turn (the expiries of a million folded sessions): `JSON.stringify` sees the array
 * (`toJSON`), and `jsonSlices` walks its items a slice at a time (`items`). Its sources must
 * give the same items every time they are walked (readings of a state taken once).
 */
export class LazyList {
  readonly #sources: readonly (() => Iterable<JsonValue>)[];

  constructor(sources: readonly (() => Iterable<JsonValue>)[]) {
    this.#sources = sources;
  }

  /** The items, source after source. */
  *items(): Generator<JsonValue, void, undefined> {
    for (const source of this.#sources) yield* source();
  }

  /** The array this stands for, for JSON.stringify. */
  toJSON(): JsonValue[] {
    return [...this.items()];
  }
}
