/**
 * A time (ms) per key, for the kids a node folded with their expiries (TreeNode.folded): the
 * part of Map's interface the tree uses, over a null-prototype object. V8 looks up internalized
 * keys in a dictionary-mode object faster than in a Map, and an entry costs less, which is the
 * point of folding a kid: a read of a folded session does one lookup here.
 */
export class KeyTimes {
  #times: Record<string, number> = Object.create(null) as Record<string, number>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): number | undefined {
    return this.#times[key];
  }

  has(key: string): boolean {
    return this.#times[key] !== undefined;
  }

  set(key: string, time: number): this {
    if (this.#times[key] === undefined) this.#size++;
    this.#times[key] = time;
    return this;
  }

  delete(key: string): boolean {
    if (this.#times[key] === undefined) return false;
    delete this.#times[key];
    this.#size--;
    return true;
  }

  /** [key, time] pairs; a key deleted while iterating is skipped, never revisited. */
  *[Symbol.iterator](): Generator<[string, number]> {
    for (const key in this.#times) {
      const time = this.#times[key];
      if (time !== undefined) yield [key, time];
    }
  }
}
