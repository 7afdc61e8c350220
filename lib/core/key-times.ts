/**
 * The expiry times of the kids a node folded into its base (TreeNode.folded): a time (ms) per
 * key for reads, over a null-prototype object (V8 looks up internalized keys in one faster
 * than in a Map, and an entry costs less), and the same entries in time order for the tree's
 * schedule, as a heap in two flat arrays. Folding a kid is meant to cost a few dozen bytes: no
 * object per key here.
 *
 * The heap is not kept in step with deletions: an entry whose key no longer has that time is
 * skipped when it comes up.
 */
export class KeyTimes {
  // Times are kept as offsets from the first one set: within about 24 days of it they are
  // small integers, which V8 stores in the entry itself rather than as a boxed number.
  #epoch: number | undefined;
  #times: Record<string, number> = Object.create(null) as Record<string, number>;
  #size = 0;
  // A min-heap of (time, key), in two arrays.
  readonly #heapTimes: number[] = [];
  readonly #heapKeys: string[] = [];
  // The earliest time of a key with no heap entry (set after it was taken off the schedule, or
  // taken since: a key stays here until GC fires it for good). Only lowered until the table
  // empties: a bound, not the minimum.
  #unscheduledMin = Number.POSITIVE_INFINITY;
  /** The time of this node's entry in the tree's schedule (Infinity: none). */
  scheduledAt = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.#size;
  }

  get(key: string): number | undefined {
    const offset = this.#times[key];
    return offset === undefined ? undefined : offset + this.#epoch!;
  }

  has(key: string): boolean {
    return this.#times[key] !== undefined;
  }

  /**
   * Sets `key`'s time; `due` says whether it still has to come up in `takeDue` (false: it was
   * taken off the schedule already, when its kid was a node of its own).
   */
  set(key: string, time: number, due = true): this {
    if (this.#times[key] === undefined) this.#size++;
    this.#epoch ??= time;
    this.#times[key] = time - this.#epoch;
    if (due) this.#push(time, key);
    else if (time < this.#unscheduledMin) this.#unscheduledMin = time;
    return this;
  }

  delete(key: string): boolean {
    if (this.#times[key] === undefined) return false;
    delete this.#times[key];
    if (--this.#size === 0) this.#unscheduledMin = Number.POSITIVE_INFINITY;
    return true;
  }

  /** [key, time] pairs; a key deleted while iterating is skipped, never revisited. */
  *[Symbol.iterator](): Generator<[string, number]> {
    for (const key in this.#times) {
      const offset = this.#times[key];
      if (offset !== undefined) yield [key, offset + this.#epoch!];
    }
  }

  /**
   * No key's time is before this one (the heap's top may be a key deleted since: it only
   * bounds them): before it, a read needs no lookup here.
   */
  get earliest(): number {
    const top = this.#heapTimes.length > 0 ? this.#heapTimes[0]! : Number.POSITIVE_INFINITY;
    return top < this.#unscheduledMin ? top : this.#unscheduledMin;
  }

  /** The earliest time still to come up, if any. */
  nextTime(): number | undefined {
    while (this.#heapTimes.length > 0) {
      if (this.get(this.#heapKeys[0]!) === this.#heapTimes[0]) return this.#heapTimes[0];
      this.#pop();
    }
    return undefined;
  }

  /** Takes off the keys whose time is at or before `time` (each once), with their times. */
  takeDue(time: number): [string, number][] {
    const taken: [string, number][] = [];
    let seen: Set<string> | undefined;
    while (this.#heapTimes.length > 0 && this.#heapTimes[0]! <= time) {
      const at = this.#heapTimes[0]!;
      const key = this.#heapKeys[0]!;
      this.#pop();
      if (this.get(key) !== at) continue;
      // The same key and time twice (folded, unfolded and folded again): once.
      if ((seen ??= new Set()).has(key)) continue;
      seen.add(key);
      taken.push([key, at]);
      if (at < this.#unscheduledMin) this.#unscheduledMin = at;
    }
    return taken;
  }

  #push(time: number, key: string): void {
    const times = this.#heapTimes;
    const keys = this.#heapKeys;
    let at = times.length;
    times.push(time);
    keys.push(key);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (times[parent]! <= time) break;
      times[at] = times[parent]!;
      keys[at] = keys[parent]!;
      at = parent;
    }
    times[at] = time;
    keys[at] = key;
  }

  #pop(): void {
    const times = this.#heapTimes;
    const keys = this.#heapKeys;
    const lastTime = times.pop()!;
    const lastKey = keys.pop()!;
    if (times.length === 0) return;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= times.length) break;
      const right = left + 1;
      const child = right < times.length && times[right]! < times[left]! ? right : left;
      if (times[child]! >= lastTime) break;
      times[at] = times[child]!;
      keys[at] = keys[child]!;
      at = child;
    }
    times[at] = lastTime;
    keys[at] = lastKey;
  }
}
