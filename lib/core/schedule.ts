import type { KeyTimes } from './key-times.js';
import type { Segments } from './path.js';

/**
 * What the entries a node's bucket armed have in common (TreeNode.armedBy): once GC folded the
 * node into its parent with its expiry, none of them stands for anything (the parent's entry
 * stands for that expiry), and a sweep drops them without looking the path up. `root` is the
 * latest entry armed at the node itself: a bucket arms one expiry at a path, so every earlier
 * entry there stands for nothing either (a session written again with its ttl).
 */
export interface ArmedBy {
  foldedAway: boolean;
  root: Due | undefined;
}

/**
 * An expiry armed somewhere in a tree: where (the whole path) and when (ms). In the tree's
 * schedule, an entry with `folded` stands for the kids a node folded with their expiries (the
 * node at `path`): `at` is the earliest of them. `by` is what the entries of the node whose
 * bucket armed it share, where known.
 */
export interface Due {
  readonly at: number;
  readonly path: Segments;
  readonly folded?: KeyTimes;
  readonly by?: ArmedBy;
}

/**
 * The expiries armed in a tree, earliest first: what a timer waits for (watchers told of an
 * expiry, a hub alone folding it away). Entries are never removed when an expiry is cleared
 * or moved: whoever takes one checks that it still holds (see ExpirySchedule).
 */
export class Schedule {
  #heap: Due[] = [];

  get size(): number {
    return this.#heap.length;
  }

  add(due: Due): void {
    this.#heap.push(due);
    this.#up(this.#heap.length - 1);
  }

  /** The earliest entry, if any. */
  peek(): Due | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest entry. */
  pop(): Due | undefined {
    const top = this.#heap[0];
    if (top !== undefined) this.#removeAt(0);
    return top;
  }

  clear(): void {
    this.#heap.length = 0;
  }

  /** Drops the room the array kept for entries since removed (an array keeps it as it shrinks). */
  trim(): void {
    this.#heap = this.#heap.slice();
  }

  /**
   * Checks at most `count` entries from position `from` on and drops those `keep` refuses;
   * returns the position to go on from (the size, once every entry was checked). Entries move
   * between calls (added, taken off): a sweep over several calls may check some twice and miss
   * others, which stay until a later sweep, or until they reach the top and are found stale.
   */
  sweep(from: number, count: number, keep: (due: Due) => boolean): number {
    let at = from;
    for (let checked = 0; checked < count && at < this.#heap.length; checked++) {
      // The entry moved into a dropped one's place is checked next, at the same position.
      if (keep(this.#heap[at]!)) at++;
      else this.#removeAt(at);
    }
    return at;
  }

  // Removes the entry at `at`: the last entry takes its place and moves to where it belongs.
  #removeAt(at: number): void {
    const last = this.#heap.pop()!;
    if (at === this.#heap.length) return;
    this.#heap[at] = last;
    this.#down(at);
    this.#up(at);
  }

  // Moves the entry at `at` up while it is earlier than its parent.
  #up(at: number): void {
    const heap = this.#heap;
    const due = heap[at]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (heap[parent]!.at <= due.at) break;
      heap[at] = heap[parent]!;
      at = parent;
    }
    heap[at] = due;
  }

  // Moves the entry at `at` down while a child is earlier.
  #down(at: number): void {
    const heap = this.#heap;
    const due = heap[at]!;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= due.at) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = due;
  }
}
