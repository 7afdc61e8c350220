/** The epoch stamp of a timed view not found holding (or never checked): it matches no epoch. */
export const NOT_HOLDING = -1;

/**
 * The epoch stamp of a view that holds until a write (nothing in it expires): a read tests the
 * same field for it as for a timed view, and one constant instead of the epoch.
 */
export const UNTIMED = -3;

// `ReadTime.holdingEpoch` outside a run: no view is stamped with it.
const OUTSIDE_RUN = -2;

/**
 * The clock expiries are read by (ms since the epoch). `perTurn`: one reading holds for a whole
 * synchronous run of code (until the next microtask), as Redis checks expiries against the
 * time a command began: a loop of a million reads costs one clock read, and a value never
 * flickers within one run. Without it, each read reads the clock (a virtual clock, a test's).
 */
export interface ExpiryClock {
  (): number;
  readonly perTurn?: boolean;
}

/**
 * The time a tree's reads are at, and what tells a read whether a cached view that holds an
 * expiry (a timed view) still holds without reading the clock or the view's own time.
 *
 * A timed view is checked against the time (`now() < until`) once per epoch, and stamped with
 * the epoch; the epoch ends as soon as the read time reaches the earliest time any view checked
 * in it stops holding. Within a run of a per-turn clock the time stands still, so a view
 * stamped with the current epoch holds: a read tests one more field instead of reading the clock
 * and the view's time, which lives in a heap number of its own (a cache miss for each key read).
 */
export class ReadTime {
  /**
   * The epoch a timed view stamped with holds without a check: the current one during a run,
   * and outside one `OUTSIDE_RUN`, which no view is stamped with. One field, so that a read of
   * a timed view tests its stamp against it and nothing else.
   */
  holdingEpoch = OUTSIDE_RUN;
  #epoch = 0;
  #inRun = false;
  readonly #clock: ExpiryClock;
  readonly #perTurn: boolean;
  // Reads are never before the latest time an op applied was made at (a replica's hybrid clock
  // is past every stamp it received: an expiry due by then has fired for every read), nor
  // before an earlier read (a wall clock stepped back never brings an expired value back).
  #now = Number.NEGATIVE_INFINITY;
  // The earliest time a view checked in this epoch stops holding.
  #holdsUntil = Number.POSITIVE_INFINITY;
  readonly #endRun = (): void => {
    this.#inRun = false;
    this.holdingEpoch = OUTSIDE_RUN;
  };

  constructor(clock: ExpiryClock) {
    this.#clock = clock;
    this.#perTurn = clock.perTurn === true;
  }

  /** The time reads are at (ms): the clock, unless an op applied or an earlier read is later. */
  now(): number {
    if (this.#inRun) return this.#now;
    this.saw(this.#clock());
    if (this.#perTurn) {
      this.#inRun = true;
      this.holdingEpoch = this.#epoch;
      queueMicrotask(this.#endRun);
    }
    return this.#now;
  }

  /** Reads are at `time` at least (an op made then was applied). */
  saw(time: number): void {
    if (!(time > this.#now)) return;
    this.#now = time;
    if (time >= this.#holdsUntil) this.#nextEpoch();
  }

  /**
   * A timed view was checked at the current time and holds until `until`: the epoch to stamp it
   * with (`NOT_HOLDING` if it does not hold now).
   */
  holds(until: number): number {
    if (!(until > this.#now)) return NOT_HOLDING;
    if (until < this.#holdsUntil) this.#holdsUntil = until;
    return this.#epoch;
  }

  #nextEpoch(): void {
    // Never wraps (a view stamped long ago must not match again): at most one epoch per
    // millisecond the clock moves, so it stays a small integer for weeks, and a number after.
    this.#epoch++;
    this.#holdsUntil = Number.POSITIVE_INFINITY;
    if (this.#inRun) this.holdingEpoch = this.#epoch;
  }
}
