// A sweep begins once the entries made stale since the last one began are more than this, and
// than the rest of the heap (half of it: they are in it): a sweep then checks about two entries
// for each it drops (beginning at a quarter of the heap, it checked about four), and the heap
// holds at most about three times its live entries (see STALE_SWEEP_PER_ENTRY).
const SWEEP_AFTER_LEAST = 1024;

/**
 * Entries a sweep checks for each entry added while it goes on: more than the one or two a write
 * makes stale, so that a sweep outpaces them.
 */
export const STALE_SWEEP_PER_ENTRY = 4;

/**
 * When a heap whose entries are never removed where they go stale (the tree's expiry schedule, a
 * parent's table of folded expiries) is swept of them, a bounded share at a time. Such entries
 * leave only when they come up, at their time: a session written again every minute with a
 * ttl of an hour leaves 60 of them behind, so the heap grows with the writes, not with the
 * store. The owner counts the entries it makes stale and moves the sweep on from its writes
 * (and its GC rounds) with `step`.
 */
export class StaleSweep {
  // Entries made stale since a sweep last began.
  #stale = 0;
  // Where the sweep goes on from; undefined between sweeps.
  #from: number | undefined;

  /** `count` entries of the heap stand for nothing any more. */
  madeStale(count = 1): void {
    this.#stale += count;
  }

  /**
   * Moves the sweep of a heap of `size` entries on, beginning one if enough were made stale:
   * `sweep(from, budget)` checks at most `budget` entries from position `from` (0 at first, then
   * whatever it returned: its own numbering) and returns the position to go on from, or
   * undefined once every entry was checked. Returns true when a sweep ended with this step.
   */
  step(size: number, budget: number, sweep: (from: number, budget: number) => number | undefined): boolean {
    if (this.#from === undefined) {
      if (this.#stale <= Math.max(SWEEP_AFTER_LEAST, size / 2)) return false;
      this.#stale = 0;
      this.#from = 0;
    }
    this.#from = sweep(this.#from, budget);
    return this.#from === undefined;
  }

  /** Forgets the sweep going on and the entries made stale (the heap was cleared or rebuilt). */
  reset(): void {
    this.#from = undefined;
    this.#stale = 0;
  }
}
