// The heaps of KeyTimes (the expiry times of kids folded into a parent, in time order): a
// million folded sessions are a million entries, so an entry is a key and a 32-bit time.

// Arrays shorter than this are not trimmed (see TimeHeap.trim).
const TRIM_FROM = 1024;

/** A min-heap of (time, key) pairs, in two flat arrays: no object per entry. */
export class TimeHeap {
  #times = new TimeColumn();
  #keys: string[] = [];
  // The length at the last `trim`.
  #trimmedAt = 0;

  /** Drops the room the arrays grew beyond their entries, once they have grown by half since. */
  trim(): void {
    if (this.#keys.length < TRIM_FROM || this.#keys.length < 1.5 * this.#trimmedAt) return;
    this.#times.trim();
    this.#keys = this.#keys.slice();
    this.#trimmedAt = this.#keys.length;
  }

  /** How many entries it holds (stale ones included). */
  get size(): number {
    return this.#keys.length;
  }

  /** The earliest time (Infinity when empty). */
  top(): number {
    return this.#keys.length > 0 ? this.#times.at(0) : Number.POSITIVE_INFINITY;
  }

  /** The key of the earliest entry (only while it holds any). */
  topKey(): string {
    return this.#keys[0]!;
  }

  /** Drops every entry. */
  clear(): void {
    this.#times = new TimeColumn();
    this.#keys.length = 0;
  }

  /**
   * Calls `visit` for every entry at or before `time`, without taking any off (the heap's order
   * prunes the rest). Entries with their time may go meanwhile: the entries are read first.
   */
  visitUpTo(time: number, visit: (at: number, key: string) => void): void {
    const times = this.#times;
    const count = this.#keys.length;
    const found: number[] = [];
    const stack: number[] = count > 0 ? [0] : [];
    while (stack.length > 0) {
      const at = stack.pop()!;
      if (times.at(at) > time) continue;
      found.push(at);
      const left = 2 * at + 1;
      if (left < count) stack.push(left);
      if (left + 1 < count) stack.push(left + 1);
    }
    const entries = found.map((at) => [times.at(at), this.#keys[at]!] as const);
    for (const [at, key] of entries) visit(at, key);
  }

  /** Adds an entry. */
  push(time: number, key: string): void {
    const times = this.#times;
    const keys = this.#keys;
    let at = keys.length;
    times.push(time);
    keys.push(key);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const parentTime = times.at(parent);
      if (parentTime <= time) break;
      times.put(at, parentTime);
      keys[at] = keys[parent]!;
      at = parent;
    }
    times.put(at, time);
    keys[at] = key;
  }

  /** Takes the earliest entry off. */
  pop(): void {
    const times = this.#times;
    const keys = this.#keys;
    const lastTime = times.pop();
    const lastKey = keys.pop()!;
    const count = keys.length;
    if (count === 0) return;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && times.at(right) < times.at(left) ? right : left;
      const childTime = times.at(child);
      if (childTime >= lastTime) break;
      times.put(at, childTime);
      keys[at] = keys[child]!;
      at = child;
    }
    times.put(at, lastTime);
    keys[at] = lastKey;
  }
}

// Offsets from a column's first time that fit 32 bits (about 24 days either way of it, in ms).
const MAX_OFFSET = 2 ** 31 - 1;

/**
 * The times of a heap, by index: 32-bit offsets from the first time pushed while they fit (4
 * bytes a time rather than a double's 8: a heap holds one per folded expiring kid), whole
 * doubles from the first that does not. Grows by half again, as an array does.
 */
class TimeColumn {
  #epoch = 0;
  #offsets: Int32Array | undefined = new Int32Array(16);
  #wide: Float64Array | undefined;
  #length = 0;

  at(index: number): number {
    return this.#offsets !== undefined ? this.#offsets[index]! + this.#epoch : this.#wide![index]!;
  }

  put(index: number, time: number): void {
    if (this.#offsets !== undefined) {
      const offset = time - this.#epoch;
      if (Number.isInteger(offset) && offset <= MAX_OFFSET && offset >= -MAX_OFFSET) {
        this.#offsets[index] = offset;
        return;
      }
      this.#widen();
    }
    this.#wide![index] = time;
  }

  push(time: number): void {
    if (this.#length === 0 && this.#offsets !== undefined) this.#epoch = Number.isInteger(time) ? time : 0;
    const capacity = this.#offsets?.length ?? this.#wide!.length;
    if (this.#length === capacity) this.#resize(capacity + (capacity >> 1) + 16);
    this.put(this.#length++, time);
  }

  pop(): number {
    return this.at(--this.#length);
  }

  /** Drops the room beyond the times held. */
  trim(): void {
    this.#resize(this.#length);
  }

  #resize(capacity: number): void {
    if (this.#offsets !== undefined) {
      const offsets = new Int32Array(capacity);
      offsets.set(this.#offsets.subarray(0, this.#length));
      this.#offsets = offsets;
    } else {
      const wide = new Float64Array(capacity);
      wide.set(this.#wide!.subarray(0, this.#length));
      this.#wide = wide;
    }
  }

  // A time that does not fit an offset: every time as a double from now on.
  #widen(): void {
    const wide = new Float64Array(this.#offsets!.length);
    for (let i = 0; i < this.#length; i++) wide[i] = this.#offsets![i]! + this.#epoch;
    this.#wide = wide;
    this.#offsets = undefined;
  }
}
