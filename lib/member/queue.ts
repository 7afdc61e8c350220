const CHUNK = 1024;

/**
 * A FIFO with O(1) push and removal from the front, kept in fixed-size chunks. `Array.shift`
 * is O(n) on large arrays, and one large array grows by copying itself (a hundred thousand
 * pending writes made that quadratic, then the copies costly): chunks never move.
 */
export class Queue<T> implements Iterable<T> {
  // Chunks in order; the first is read from `#head`, the last is written at its end.
  #chunks: T[][] = [[]];
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    let last = this.#chunks[this.#chunks.length - 1]!;
    if (last.length === CHUNK) this.#chunks.push((last = []));
    last.push(item);
    this.#length++;
  }

  /** The first item, or undefined. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#chunks[0]![this.#head];
  }

  /** Removes `item`: O(1) when it is the first (the usual case), O(n) otherwise. */
  remove(item: T): void {
    if (this.#length === 0) return;
    const first = this.#chunks[0]!;
    if (first[this.#head] === item) {
      first[this.#head++] = undefined as T;
      this.#length--;
      if (this.#head === first.length && (this.#chunks.length > 1 || first.length === CHUNK)) {
        if (this.#chunks.length > 1) this.#chunks.shift();
        else this.#chunks[0] = [];
        this.#head = 0;
      }
      return;
    }
    for (let c = 0; c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c]!;
      const index = chunk.indexOf(item, c === 0 ? this.#head : 0);
      if (index === -1) continue;
      chunk.splice(index, 1);
      this.#length--;
      if (chunk.length === 0 && this.#chunks.length > 1) this.#chunks.splice(c, 1);
      return;
    }
  }

  [Symbol.iterator](): Iterator<T> {
    return new QueueWalk(this.#chunks, this.#head);
  }

  toArray(): T[] {
    return [...this];
  }
}

/**
 * A walk of a queue's items, first to last, that fills one result object again at each step,
 * where a generator makes one per step (a read that replays thousands of pending writes walks
 * their ids).
 */
class QueueWalk<T> implements Iterator<T> {
  readonly #chunks: readonly (readonly T[])[];
  #chunk = 0;
  #index: number;
  readonly #result = { done: false, value: undefined as T | undefined };

  constructor(chunks: readonly (readonly T[])[], head: number) {
    this.#chunks = chunks;
    this.#index = head;
  }

  next(): IteratorResult<T> {
    while (this.#chunk < this.#chunks.length) {
      const chunk = this.#chunks[this.#chunk]!;
      if (this.#index < chunk.length) {
        this.#result.value = chunk[this.#index++];
        return this.#result as IteratorResult<T>;
      }
      this.#chunk++;
      this.#index = 0;
    }
    this.#result.done = true;
    this.#result.value = undefined;
    return this.#result as IteratorResult<T>;
  }

  [Symbol.iterator](): Iterator<T> {
    return this;
  }
}
