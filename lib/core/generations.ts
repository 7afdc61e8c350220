/**
 * A map of string keys bounded without per-entry recency, for caches of hot keys: two
 * generations of `size` entries. When the young one is full it becomes the old one (the old one
 * is dropped), and an old entry that is used again moves back to the young one.
 */
export class Generations<V> {
  #young = new Map<string, V>();
  #old = new Map<string, V>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  /** The value kept for `key`, or undefined. */
  get(key: string): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  /** Keeps `value` for `key` in the young generation. */
  set(key: string, value: V): void {
    if (this.#young.size >= this.#size) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
