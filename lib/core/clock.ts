/** The id of a hub: the tie-break of its stamps and the origin of its writes. */
export type NodeId = string & { readonly __brand: 'NodeId' };

/**
 * A hybrid logical clock reading. Stamps are totally ordered by `(wall, count, node)`: wall
 * milliseconds, then a counter for stamps within the same millisecond (or while the wall clock
 * lags behind), then the node id, so two hubs never produce equal stamps.
 */
export interface Stamp {
  readonly wall: number;
  readonly count: number;
  readonly node: NodeId;
}

/** Orders stamps: negative when `a` comes first, positive when `b` does, 0 when equal. */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.wall !== b.wall) return a.wall - b.wall;
  if (a.count !== b.count) return a.count - b.count;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** Whether `a` is strictly later than `b`. */
export function isAfter(a: Stamp, b: Stamp): boolean {
  return compareStamps(a, b) > 0;
}

// Node ids are limited to [A-Za-z0-9_.:-], all of which sort before '~'.
/** The node of a clock's ceiling: `~` sorts after every valid node id. */
export const CEILING_NODE = '~' as NodeId;

// How many stamps one reading of the wall clock serves at most (see HybridClock.sharingReadings).
const STAMPS_PER_READING = 32;

/** Reads wall-clock milliseconds; injectable so tests can skew and rewind time. */
export type WallClock = () => number;

/**
 * A hybrid logical clock (Kulkarni et al.): it follows wall time while wall time moves
 * forward, never goes backwards when wall time does, and moves past every stamp it observes,
 * so a write stamped after seeing another write is always ordered after it.
 */
export class HybridClock {
  readonly node: NodeId;
  readonly #now: WallClock;
  #wall = 0;
  #count = 0;
  // Sharing readings of the wall clock (see sharingReadings): only the real clock's, which
  // costs as much as the rest of a hub's write on some virtual machines (50-70 ns measured); an
  // injected clock (a test's, the simulator's) is read at every stamp.
  readonly #sharesReadings: boolean;
  #sharing = false;
  #reading = 0;
  #readingServes = 0;

  /** `now`: the wall clock (by default the system's). */
  constructor(node: NodeId, now?: WallClock) {
    this.node = node;
    this.#now = now ?? (() => Date.now());
    this.#sharesReadings = now === undefined;
  }

  /**
   * A new stamp, later than every stamp this clock issued or observed. `fresh`: read the wall
   * clock for this one even within `sharingReadings` (a write whose expiry is counted from its
   * stamp).
   */
  tick(fresh = false): Stamp {
    const physical = this.#sharing && !fresh ? this.#sharedReading() : this.#now();
    if (physical > this.#wall) {
      this.#wall = physical;
      this.#count = 0;
    } else {
      this.#count++;
    }
    return { wall: this.#wall, count: this.#count, node: this.node };
  }

  /**
   * Runs `stamping` (a batch of writes applied together: a member's message of them), whose
   * stamps may share a reading of the wall clock, STAMPS_PER_READING at most each: a stamp is
   * then behind the wall clock by the work of at most that many stamps of one batch, as a
   * stamp of a busy hub is behind by the time its write waited anyway.
   */
  sharingReadings<T>(stamping: () => T): T {
    if (!this.#sharesReadings || this.#sharing) return stamping();
    this.#sharing = true;
    try {
      return stamping();
    } finally {
      this.#sharing = false;
      this.#readingServes = 0;
    }
  }

  #sharedReading(): number {
    if (this.#readingServes > 0) {
      this.#readingServes--;
      return this.#reading;
    }
    this.#reading = this.#now();
    this.#readingServes = STAMPS_PER_READING - 1;
    return this.#reading;
  }

  /**
   * Catches up with wall time without issuing a stamp: a quiet clock's ceiling moves on, so a
   * quiet group's GC horizon does too (and the expiries behind it fire for good).
   */
  advance(): void {
    const physical = this.#now();
    if (physical > this.#wall) {
      this.#wall = physical;
      this.#count = 0;
    }
  }

  /** Moves the clock past `stamp`, so the next `tick()` is ordered after it. */
  observe(stamp: Stamp): void {
    if (stamp.wall > this.#wall || (stamp.wall === this.#wall && stamp.count > this.#count)) {
      this.#wall = stamp.wall;
      this.#count = stamp.count;
    }
  }

  /**
   * A bound below which this clock will never stamp again: every later `tick()`, on any node
   * that has observed this clock, is after it whatever its node id. Its `node` is `~`, which
   * sorts after every valid node id.
   */
  ceiling(): Stamp {
    return { wall: this.#wall, count: this.#count, node: CEILING_NODE };
  }

  /** The latest reading, without advancing: every later `tick()` is after it. */
  peek(): Stamp {
    return { wall: this.#wall, count: this.#count, node: this.node };
  }
}
