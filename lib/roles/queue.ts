/**
 * A FIFO with O(1) removal from the front. `Array.prototype.shift` is O(n) on large arrays
 * (V8 cannot trim arrays in large-object space), which made a burst of 100k pending writes
 * quadratic to acknowledge.
 */
export class Queue<T> implements Iterable<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The first item, or undefined. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** Removes `item`: O(1) when it is the first (the usual case), O(n) otherwise. */
  remove(item: T): void {
    if (this.peek() === item) {
      this.#items[this.#head++] = undefined as T;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return;
    }
    const index = this.#items.indexOf(item, this.#head);
    if (index !== -1) this.#items.splice(index, 1);
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }

  toArray(): T[] {
    return this.#items.slice(this.#head);
  }
}
