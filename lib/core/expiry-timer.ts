import type { ExpiryClock } from './read-time.js';

// The longest delay setTimeout takes (about 24.8 days); a later expiry wakes the timer early.
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Wakes `fire` when the next armed expiry comes due (`next()`, ms on `now`'s clock): what tells
 * watchers and `change` listeners that a value expired, and lets a hub alone fold it away.
 * Unreferenced: a pending expiry never keeps a process alive.
 */
export class ExpiryTimer {
  readonly #next: () => number | undefined;
  readonly #fire: () => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(next: () => number | undefined, fire: () => void, now: () => number = Date.now) {
    this.#next = next;
    this.#fire = fire;
    this.#now = now;
  }

  /** Call after anything that may have armed an expiry earlier than the one waited for. */
  arm(): void {
    if (this.#stopped) return;
    const at = this.#next();
    if (at === undefined) {
      this.#clear();
      return;
    }
    if (this.#timer !== undefined && at >= this.#at) return;
    this.#clear();
    this.#at = at;
    this.#timer = setTimeout(() => this.#wake(), Math.min(Math.max(0, at - this.#now()), MAX_DELAY_MS));
    this.#timer.unref();
  }

  #wake(): void {
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    if (this.#stopped) return;
    this.#fire();
    this.arm();
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
  }
}

/**
 * A clock for reading expiries that holds one reading for each synchronous run of code (until
 * the next microtask): a loop of a million reads costs one clock read, and a value never
 * flickers within one run. Reads see the store as of when the run began, as Redis checks
 * expiries against the time a command began. The tree that reads by it keeps the reading (see
 * ReadTime), and so knows that timed views it found holding still hold.
 */
export function turnClock(now: () => number = Date.now): ExpiryClock {
  // A function of its own: the flag must not land on `now` itself (Date.now).
  return Object.assign(() => now(), { perTurn: true });
}
