import type { KeyTimes } from './key-times.js';
import type { Segments } from './path.js';

/**
 * An expiry armed somewhere in a tree: where (the whole path) and when (ms). In the tree's
 * schedule, an entry with `folded` stands for the kids a node folded with their expiries (the
 * node at `path`): `at` is the earliest of them.
 */
export interface Due {
  readonly at: number;
  readonly path: Segments;
  readonly folded?: KeyTimes;
}

/**
 * The expiries armed in a tree, earliest first: what a timer waits for (watchers told of an
 * expiry, a hub alone folding it away). Entries are never removed when an expiry is cleared
 * or moved: whoever takes one checks that it still holds (see ExpirySchedule).
 */
export class Schedule {
  readonly #heap: Due[] = [];

  get size(): number {
    return this.#heap.length;
  }

  add(due: Due): void {
    const heap = this.#heap;
    heap.push(due);
    let at = heap.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (heap[parent]!.at <= due.at) break;
      heap[at] = heap[parent]!;
      at = parent;
    }
    heap[at] = due;
  }

  /** The earliest entry, if any. */
  peek(): Due | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest entry. */
  pop(): Due | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = last;
    return top;
  }

  clear(): void {
    this.#heap.length = 0;
  }

  /** Drops every entry `keep` refuses, in one pass (then restores the heap order). */
  retain(keep: (due: Due) => boolean): void {
    const kept = this.#heap.filter(keep);
    this.#heap.length = 0;
    kept.sort((a, b) => a.at - b.at); // a sorted array is a heap
    for (const due of kept) this.#heap.push(due);
  }
}
