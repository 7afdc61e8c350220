// The heaps of KeyTimes (the expiry times of kids folded into a parent, in time order): a
// million folded sessions are a million entries, so an entry is a key and a 32-bit time.

// Entries are held in chunks of this many (a power of two): the heap grows and shrinks a chunk
// at a time and never copies what it holds. Grown as one flat array by half again, a heap of a
// million entries copied 12 MB at once, which held a hub's event loop for 20-80 ms on the bench
// machine (where fresh memory costs page faults).
const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/** A min-heap of (time, key) pairs, in chunked flat arrays: no object per entry. */
export class TimeHeap {
  #times = new TimeColumn();
  #keys: string[][] = [];
  #count = 0;

  /** Drops the chunks beyond the entries held. */
  trim(): void {
    const needed = (this.#count + IN_CHUNK) >>> CHUNK_BITS;
    this.#times.trim(needed);
    this.#keys.length = Math.min(this.#keys.length, needed);
  }

  /** How many entries it holds (stale ones included). */
  get size(): number {
    return this.#count;
  }

  /** The earliest time (Infinity when empty). */
  top(): number {
    return this.#count > 0 ? this.#times.at(0) : Number.POSITIVE_INFINITY;
  }

  /** The key of the earliest entry (only while it holds any). */
  topKey(): string {
    return this.#keys[0]![0]!;
  }

  /** Drops every entry. */
  clear(): void {
    this.#times = new TimeColumn();
    this.#keys = [];
    this.#count = 0;
  }

  #key(index: number): string {
    return this.#keys[index >>> CHUNK_BITS]![index & IN_CHUNK]!;
  }

  #setKey(index: number, key: string): void {
    this.#keys[index >>> CHUNK_BITS]![index & IN_CHUNK] = key;
  }

  /**
   * Calls `visit` for every entry at or before `time`, without taking any off (the heap's order
   * prunes the rest). Entries with their time may go meanwhile: the entries are read first.
   */
  visitUpTo(time: number, visit: (at: number, key: string) => void): void {
    const times = this.#times;
    const count = this.#count;
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
    const entries = found.map((at) => [times.at(at), this.#key(at)] as const);
    for (const [at, key] of entries) visit(at, key);
  }

  /** Adds an entry. */
  push(time: number, key: string): void {
    const at = this.#count++;
    this.#times.push(time);
    if (at >>> CHUNK_BITS === this.#keys.length) this.#keys.push([]);
    const place = this.#holeUp(at, time);
    this.#times.put(place, time);
    this.#setKey(place, key);
  }

  // Moves the hole at `at` up while an entry at `time` would be earlier than its parent (the
  // parents move down into it); returns where the hole stops.
  #holeUp(at: number, time: number): number {
    const times = this.#times;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const parentTime = times.at(parent);
      if (parentTime <= time) break;
      times.put(at, parentTime);
      this.#setKey(at, this.#key(parent));
      at = parent;
    }
    return at;
  }

  /** Takes the earliest entry off. */
  pop(): void {
    this.#removeAt(0);
  }

  /**
   * Checks at most `count` entries from position `from` on and drops those `keep` refuses;
   * returns the position to go on from (the size, once every entry was checked). Entries move
   * between calls (pushed, taken off): a sweep over several calls may check some twice and miss
   * others, which stay until a later sweep or until they come up.
   */
  sweep(from: number, count: number, keep: (at: number, key: string) => boolean): number {
    let at = from;
    for (let checked = 0; checked < count && at < this.#count; checked++) {
      // The entry moved into a dropped one's place is checked next, at the same position.
      if (keep(this.#times.at(at), this.#key(at))) at++;
      else this.#removeAt(at);
    }
    return at;
  }

  // Removes the entry at `index`: the last entry takes its place and moves to where it belongs.
  #removeAt(index: number): void {
    const times = this.#times;
    const count = --this.#count;
    const lastTime = times.pop();
    // The last entry is the last key of its chunk (chunks fill in order).
    const lastKey = this.#keys[count >>> CHUNK_BITS]!.pop()!;
    if (index === count) return;
    // Up while earlier than its parent (only ever, away from the top, for an entry swept out).
    let at = this.#holeUp(index, lastTime);
    // Down while a child is earlier.
    for (;;) {
      const left = 2 * at + 1;
      if (left >= count) break;
      const right = left + 1;
      const child = right < count && times.at(right) < times.at(left) ? right : left;
      const childTime = times.at(child);
      if (childTime >= lastTime) break;
      times.put(at, childTime);
      this.#setKey(at, this.#key(child));
      at = child;
    }
    times.put(at, lastTime);
    this.#setKey(at, lastKey);
  }
}

// Offsets from a column's first time that fit 32 bits (about 24 days either way of it, in ms).
const MAX_OFFSET = 2 ** 31 - 1;

/**
 * The times of a heap, by index, in chunks: 32-bit offsets from the first time pushed while they
 * fit (4 bytes a time rather than a double's 8: a heap holds one per folded expiring kid), whole
 * doubles from the first that does not.
 */
class TimeColumn {
  #epoch = 0;
  #offsets: Int32Array[] | undefined = [];
  #wide: Float64Array[] | undefined;
  #length = 0;

  at(index: number): number {
    const chunk = index >>> CHUNK_BITS;
    return this.#offsets !== undefined ? this.#offsets[chunk]![index & IN_CHUNK]! + this.#epoch : this.#wide![chunk]![index & IN_CHUNK]!;
  }

  put(index: number, time: number): void {
    if (this.#offsets !== undefined) {
      const offset = time - this.#epoch;
      if (Number.isInteger(offset) && offset <= MAX_OFFSET && offset >= -MAX_OFFSET) {
        this.#offsets[index >>> CHUNK_BITS]![index & IN_CHUNK] = offset;
        return;
      }
      this.#widen();
    }
    this.#wide![index >>> CHUNK_BITS]![index & IN_CHUNK] = time;
  }

  push(time: number): void {
    if (this.#length === 0 && this.#offsets !== undefined) this.#epoch = Number.isInteger(time) ? time : 0;
    const chunks = this.#offsets ?? this.#wide!;
    if (this.#length >>> CHUNK_BITS === chunks.length) {
      if (this.#offsets !== undefined) this.#offsets.push(new Int32Array(CHUNK));
      else this.#wide!.push(new Float64Array(CHUNK));
    }
    this.put(this.#length++, time);
  }

  pop(): number {
    return this.at(--this.#length);
  }

  /** Keeps the first `chunks` chunks only. */
  trim(chunks: number): void {
    const held = this.#offsets ?? this.#wide!;
    if (held.length > chunks) held.length = chunks;
  }

  // A time that does not fit an offset: every time as a double from now on.
  #widen(): void {
    this.#wide = this.#offsets!.map((offsets) => Float64Array.from(offsets, (offset) => offset + this.#epoch));
    this.#offsets = undefined;
  }
}
