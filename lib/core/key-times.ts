import { LiveReadings } from './live-readings.js';
import { NOT_HOLDING } from './read-time.js';
import { STALE_SWEEP_PER_ENTRY, StaleSweep } from './stale-sweep.js';
import { TimeHeap } from './time-heap.js';

/**
 * The expiry times of the kids a node folded into its base (TreeNode.folded): a time (ms) per
 * key for reads, over a null-prototype object (V8 looks up internalized keys in one faster
 * than in a Map, and an entry costs less), and the same entries in time order, in two heaps of
 * chunked arrays (see TimeHeap): those still to come up in the tree's schedule, and those taken
 * since, until GC fires them. Folding a kid is meant to cost a few dozen bytes: no object per
 * key here.
 *
 * The heaps are not kept in step with deletions: an entry whose key no longer has that time is
 * skipped when it comes up, or dropped before by a sweep once many are (a hot session folded,
 * written and folded again at every GC round leaves one behind each time, which would otherwise
 * wait out its ttl behind the sessions that are not written).
 */
export class KeyTimes {
  // Times are kept as offsets from the first one set: within about 24 days of it they are
  // small integers, which V8 stores in the entry itself rather than as a boxed number.
  #epoch: number | undefined;
  #times: Record<string, number> = Object.create(null) as Record<string, number>;
  #size = 0;
  // Keys still to come up in `takeDue`, as (time, key) in a min-heap.
  readonly #due = new TimeHeap();
  // Keys taken off the schedule (by `takeDue`, or before they were folded here), still in the
  // table until GC fires them for good (`takeFired`): a GC lag's worth, not every key.
  readonly #taken = new TimeHeap();
  /** The time of this node's entry in the tree's schedule (Infinity: none). */
  scheduledAt = Number.POSITIVE_INFINITY;
  /**
   * The read epoch in which no key here was found due (ReadTime.holds of `earliest`): a read in
   * that epoch skips the check. Reset whenever `earliest` moves back, so a key set since with an
   * earlier time is never skipped.
   */
  checkedEpoch = NOT_HOLDING;
  // `earliest`, kept by every change of the heaps rather than computed from their tops on each
  // call: every read of a key folded here tests it, and the tops (32-bit offsets made doubles
  // again) cost such a read a boxed double and a tenth of its time (measured: hot reads of
  // folded sessions 0.80x of the same store without ttl before, 0.88x after).
  #earliest = Number.POSITIVE_INFINITY;
  // The latest time ever set: no key's time is after it.
  #latest = Number.NEGATIVE_INFINITY;
  // Every entry of the due heap at or before this time is gone (valid or stale): the latest time
  // `takeDue` was asked for, unless an entry at or before it was pushed since (then -Infinity,
  // until the next `takeDue`).
  #dueTakenUpTo = Number.NEGATIVE_INFINITY;
  // Keys set as taken off already (`due` false) at a time after `#dueTakenUpTo`: an entry of the
  // due heap left from an earlier time of theirs, by chance the same, must not come up for them
  // (a heap entry holds while its key has its time, and these have it). Empty in the tree's use,
  // where `due` is false only at or before the times its schedule took: undefined then.
  #takenAhead: Map<string, number> | undefined;
  // Snapshots reading the table (see `read`).
  readonly #readings = new LiveReadings<number | undefined>();
  // Drops the heaps' entries whose key no longer has their time.
  readonly #sweep = new StaleSweep();

  get size(): number {
    return this.#size;
  }

  /** How many entries its heaps hold, stale ones included (see StaleSweep). */
  get heldEntries(): number {
    return this.#due.size + this.#taken.size;
  }

  get(key: string): number | undefined {
    const offset = this.#times[key];
    return offset === undefined ? undefined : offset + this.#epoch!;
  }

  has(key: string): boolean {
    return this.#times[key] !== undefined;
  }

  /**
   * Sets `key`'s time; `due` says whether it still has to come up in `takeDue` (false: it was
   * taken off the schedule already, when its kid was a node of its own).
   */
  set(key: string, time: number, due = true): this {
    this.#changing(key);
    if (due) this.#takenAhead?.delete(key);
    // Set again at the time it has, a key keeps its place (an entry of it still to come holds).
    else if (this.get(key) !== time) {
      this.#takenAhead?.delete(key);
      if (time > this.#dueTakenUpTo) (this.#takenAhead ??= new Map()).set(key, time);
    }
    // An entry pushed at or before what `takeDue` took stays in the due heap until the next one.
    if (due && time <= this.#dueTakenUpTo) this.#dueTakenUpTo = Number.NEGATIVE_INFINITY;
    if (time > this.#latest) this.#latest = time;
    if (this.#times[key] === undefined) this.#size++;
    // Its entry for the time it had stays behind (even for the same time: a new one is pushed).
    else this.#sweep.madeStale();
    this.#epoch ??= time;
    this.#times[key] = time - this.#epoch;
    (due ? this.#due : this.#taken).push(time, key);
    this.#sweepOn();
    this.#heapsChanged();
    return this;
  }

  delete(key: string): boolean {
    if (!this.#remove(key)) return false;
    // Its entry stays behind (a kid unfolded to be written: it is folded again later).
    this.#sweep.madeStale();
    return true;
  }

  // Deletes `key` (which GC may be firing: its entry then is at the top, or soon will be).
  #remove(key: string): boolean {
    if (this.#times[key] === undefined) return false;
    this.#changing(key);
    delete this.#times[key];
    this.#takenAhead?.delete(key);
    if (--this.#size === 0) {
      this.#due.clear();
      this.#taken.clear();
      this.#takenAhead = undefined;
      this.#sweep.reset();
      this.#heapsChanged();
    }
    return true;
  }

  // Checks a few entries of the sweep going on (or of one begun now, if due): called at every
  // set, which makes at most one entry stale.
  #sweepOn(): void {
    if (this.#sweep.step(this.#due.size + this.#taken.size, STALE_SWEEP_PER_ENTRY, this.#sweepFrom)) this.trim();
  }

  // One step of a sweep (see StaleSweep.step); made once, not at every set. It goes over the due
  // heap, then over the taken one, whose positions it gives as -1 - position: a position at the
  // end of the due heap would be one before its end at the next step (every set pushes one).
  readonly #sweepFrom = (from: number, budget: number): number | undefined => {
    if (from >= 0) {
      const next = this.#due.sweep(from, budget, this.#dueHolds);
      return next < this.#due.size ? next : -1;
    }
    const next = this.#taken.sweep(-1 - from, budget, this.#takenHolds);
    return next < this.#taken.size ? -1 - next : undefined;
  };

  // Whether the taken heap's entry (`at`, `key`) holds: its key still has that time.
  readonly #takenHolds = (at: number, key: string): boolean => this.get(key) === at;

  /** Drops the chunks of the heaps beyond their entries (see TimeHeap.trim): nothing is copied. */
  trim(): void {
    this.#due.trim();
    this.#taken.trim();
  }

  /** No key's time is after this one (the latest ever set; -Infinity when none was). */
  get latest(): number {
    return this.#latest;
  }

  /**
   * The table as it is now, for a snapshot read over several turns: `keys` lists (at least)
   * every key it holds, each once (the keys of the base it belongs to: see BaseKeys), read up to
   * its length now. The table goes on changing and tells the reading what it replaces.
   */
  read(keys: readonly string[]): TimesReading {
    const reading = new TimesReading(this, keys);
    this.#readings.add(reading);
    return reading;
  }

  // The heaps' tops changed (an entry pushed or taken off): `#earliest` follows them.
  #heapsChanged(): void {
    const due = this.#due.top();
    const taken = this.#taken.top();
    const earliest = due < taken ? due : taken;
    if (earliest < this.#earliest) this.checkedEpoch = NOT_HOLDING;
    this.#earliest = earliest;
  }

  // Whether the due heap's entry (`at`, `key`) holds: its key still has that time, and was not
  // set as taken off since.
  readonly #dueHolds = (at: number, key: string): boolean => this.get(key) === at && this.#takenAhead?.get(key) !== at;

  // `key`'s time is about to change: the readings keep what it is now.
  #changing(key: string): void {
    if (!this.#readings.empty) this.#readings.changing(key, this.get(key));
  }

  /** [key, time] pairs; a key deleted while iterating is skipped, never revisited. */
  *[Symbol.iterator](): Generator<[string, number]> {
    for (const key in this.#times) {
      const offset = this.#times[key];
      if (offset !== undefined) yield [key, offset + this.#epoch!];
    }
  }

  /**
   * No key's time is before this one (a heap's top may be a key deleted since: it only bounds
   * them): before it, a read needs no lookup here.
   */
  get earliest(): number {
    return this.#earliest;
  }

  /** The earliest time still to come up, if any. */
  nextTime(): number | undefined {
    while (this.#due.size > 0) {
      if (this.#dueHolds(this.#due.top(), this.#due.topKey())) return this.#due.top();
      this.#due.pop();
      this.#heapsChanged();
    }
    return undefined;
  }

  /** Takes off the keys whose time is at or before `time` (each once), with their times. */
  takeDue(time: number): [string, number][] {
    const taken: [string, number][] = [];
    let seen: Set<string> | undefined;
    while (this.#due.size > 0 && this.#due.top() <= time) {
      const at = this.#due.top();
      const key = this.#due.topKey();
      this.#due.pop();
      if (!this.#dueHolds(at, key)) continue;
      // The same key and time twice (folded, unfolded and folded again): once.
      if ((seen ??= new Set()).has(key)) continue;
      seen.add(key);
      taken.push([key, at]);
      this.#taken.push(at, key);
    }
    if (time > this.#dueTakenUpTo) {
      this.#dueTakenUpTo = time;
      // No entry left at or before `time` for these to be kept from.
      if (this.#takenAhead !== undefined) for (const [key, at] of this.#takenAhead) if (at <= time) this.#takenAhead.delete(key);
    }
    this.#heapsChanged();
    return taken;
  }

  /**
   * Deletes the keys whose time is at or before `time` (GC fires them for good: nothing earlier
   * can come any more) and returns them: those taken off the schedule already, and those still
   * on it (their entries there are skipped when they come up). O(keys fired), not O(keys).
   */
  takeFired(time: number): string[] {
    const fired: string[] = [];
    const fire = (at: number, key: string): void => {
      if (this.get(key) === at && this.#remove(key)) fired.push(key);
    };
    while (this.#taken.size > 0 && this.#taken.top() <= time) {
      const at = this.#taken.top();
      const key = this.#taken.topKey();
      this.#taken.pop();
      fire(at, key);
    }
    this.#due.visitUpTo(time, fire);
    // What they leave at the top of the schedule's heap is stale now: off with it (no timer
    // may come to take it, in a replica that runs none).
    while (this.#due.size > 0 && this.#due.top() <= time && !this.#dueHolds(this.#due.top(), this.#due.topKey())) this.#due.pop();
    this.#heapsChanged();
    return fired;
  }
}

/**
 * A KeyTimes as it was when a snapshot took it (KeyTimes.read): its [key, time] pairs, walked
 * from a list of keys while the table goes on changing.
 */
export class TimesReading {
  readonly #table: KeyTimes;
  readonly #keys: readonly string[];
  readonly #length: number;
  /** No key's time is after this one. */
  readonly latest: number;
  // Times of the keys changed since, as they were (undefined: none).
  readonly #before = new Map<string, number | undefined>();
  #ended = false;

  constructor(table: KeyTimes, keys: readonly string[]) {
    this.#table = table;
    this.#keys = keys;
    this.#length = keys.length;
    this.latest = table.latest;
  }

  /** The table is about to change `key`, whose time is `old` now. */
  changing(key: string, old: number | undefined): void {
    if (!this.#before.has(key)) this.#before.set(key, old);
  }

  /** Whether its snapshot was written (see SnapshotReadings). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Its snapshot was written: not read again. */
  end(): void {
    this.#ended = true;
    this.#before.clear();
  }

  /** The [key, time] pairs the table held. */
  *entries(): Generator<[string, number], void, undefined> {
    for (let i = 0; i < this.#length; i++) {
      const key = this.#keys[i]!;
      const time = this.#before.has(key) ? this.#before.get(key) : this.#table.get(key);
      if (time !== undefined) yield [key, time];
    }
  }
}
