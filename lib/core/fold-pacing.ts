import { FOLD_EVERY } from './tree.js';

// The fewest nodes made between folds however slow they are (a quarter of FOLD_EVERY).
const FEWEST_BETWEEN_FOLDS = FOLD_EVERY / 4;
// A fold that took longer than this (ms) halves the nodes made until the next; one quicker than
// QUICK_FOLD_MS doubles them again, up to FOLD_EVERY.
const SLOW_FOLD_MS = 20;
const QUICK_FOLD_MS = 5;

/**
 * How many nodes a replica's writes make between the folds it runs at once (a hub alone; see
 * ReplicatedTree.foldEvery), from how long its last fold took. A fold walks the nodes made since
 * the last one, and a kid it folds with its expiry (a session with a ttl) costs several times a
 * plain one: 10k of them held a hub's event loop for 40-70 ms. Folding fewer nodes each time,
 * though, makes hot keys again after every fold (a set of 5000 keys written in turn took 1.8x
 * the time at 2500 a fold): so the count drops only while folds are slow.
 */
export class FoldPacing {
  // From the fewest: a fold of few nodes is quick, and the count doubles from there, where the
  // first fold of FOLD_EVERY slow ones would be a long pause before anything was learned.
  #every = FEWEST_BETWEEN_FOLDS;

  /** The nodes to be made until the next fold. */
  get every(): number {
    return this.#every;
  }

  /** A fold took `ms`: returns the nodes to be made until the next. */
  took(ms: number): number {
    if (ms > SLOW_FOLD_MS) this.#every = Math.max(FEWEST_BETWEEN_FOLDS, this.#every / 2);
    else if (ms < QUICK_FOLD_MS) this.#every = Math.min(FOLD_EVERY, this.#every * 2);
    return this.#every;
  }
}
