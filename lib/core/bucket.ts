import { isAfter, type Stamp } from './clock.js';
import { applyWithExpiry, fireDue, nextDue, unarmed, type Armed, type ExpiryState } from './expiry.js';
import { ABSENT, type Slot } from './slot.js';
import type { Op } from './op.js';
import { isPrefixOf, pathBelow, type Segments } from './path.js';
import { withValueIn, withoutKeyIn } from './subtree.js';

// The entries of `after` that `before` did not hold (states share unchanged entries).
function armedSince(before: ExpiryState, after: ExpiryState): readonly Armed[] {
  if (after.armed === before.armed) return [];
  return after.armed.filter((entry) => !before.armed.includes(entry));
}

/**
 * A subtree that holds expiries, kept as the specification states it rather than as a trie:
 * what GC folded (a plain value and the expiries armed in it, as of the last fold), the ops
 * received since (sorted by stamp, every one kept: an expiry that fires between two of them
 * changes what the later one does, and an op that comes late can cancel an expiry), and the
 * state they replay to. Reading it at a time fires what is due by then, without changing it.
 *
 * It belongs to one node of the tree (its root, at `depth`): every op at or below that node
 * lands here, and the tree keeps the trie only above it. Subtrees with expiries are small in
 * practice (a session, a counter); GC folds their ops like any others.
 */
// Most buckets hold no records between folds (a session, a window): they share this one, frozen,
// until an op comes.
const NO_RECORDS: Op[] = Object.freeze([]) as unknown as Op[];

export class Bucket {
  readonly depth: number;
  /** The folded state, or undefined: then the root's start (its parent's value there), nothing armed. */
  base: ExpiryState | undefined;
  /** Ops not folded yet, sorted by stamp. */
  records: Op[] = NO_RECORDS;
  #current: ExpiryState | undefined;
  #currentStart: Slot | undefined;
  // Whether the base holds a write (a value other than the root's start), not only expiries
  // armed on what the start holds.
  #baseWrites: boolean;

  constructor(depth: number, base?: ExpiryState, records: Op[] = NO_RECORDS, baseWrites = base !== undefined) {
    this.depth = depth;
    this.base = base;
    this.records = records;
    this.#baseWrites = baseWrites;
  }

  /** The state after every op held, from `start` (the root's start), nothing fired after the last op. */
  current(start: Slot): ExpiryState {
    if (this.#current !== undefined && (this.base !== undefined || this.#currentStart === start)) return this.#current;
    let state = this.base ?? unarmed(start);
    for (const op of this.records) state = this.#step(state, op);
    this.#current = state;
    this.#currentStart = start;
    return state;
  }

  #step(state: ExpiryState, op: Op): ExpiryState {
    return applyWithExpiry(fireDue(state, op.stamp.wall), pathBelow(op.path, this.depth), op);
  }

  /**
   * Takes an op at or below the root. One later than every op held is applied to the current
   * state at once; an earlier one is placed among them and the state replayed.
   */
  insert(op: Op, start: Slot): readonly Armed[] {
    const last = this.records[this.records.length - 1];
    if (last === undefined || isAfter(op.stamp, last.stamp)) {
      const before = this.current(start);
      if (this.records === NO_RECORDS) this.records = [op];
      else this.records.push(op);
      this.#current = this.#step(before, op);
      return armedSince(before, this.#current);
    }
    let index = this.records.length;
    while (index > 0 && isAfter(this.records[index - 1]!.stamp, op.stamp)) index--;
    this.records.splice(index, 0, op);
    this.#current = undefined;
    return this.current(start).armed;
  }

  /**
   * Applies an op that is final (a member applying its hub's stream, a hub alone): after every
   * expiry due by `time` fired, folded in at once, no record kept. Returns what it armed.
   */
  applyFinal(op: Pick<Op, 'kind' | 'path' | 'value' | 'expireAt' | 'keepTtl'>, time: number, start: Slot): readonly Armed[] {
    const before = fireDue(this.current(start), time);
    if (before.value !== this.current(start).value || op.kind !== 'ttl') this.#baseWrites = true;
    return this.#settle(applyWithExpiry(before, pathBelow(op.path, this.depth), op as Op), before);
  }

  /**
   * A follower told the whole state at `relative` (its hub restated it): `value` there (ABSENT:
   * nothing; the parents become objects only if `underObject`) and the expiries armed at or
   * below it (paths relative to it). Returns what it armed.
   */
  restate(relative: Segments, value: Slot, armed: readonly Armed[], start: Slot, underObject: boolean): readonly Armed[] {
    const before = this.current(start);
    const kept = before.armed.filter((entry) => !isPrefixOf(relative, entry.path));
    const moved = armed.map((entry) => ({ path: [...relative, ...entry.path], at: entry.at }));
    // Nothing there: the parents become objects only where the hub's are.
    const next = relative.length === 0 ? value : value === ABSENT && !underObject ? withoutKeyIn(before.value, relative) : withValueIn(before.value, relative, value);
    // A change is a write; so is nothing, where the hub's parent is an object (a delete made it).
    if (next !== before.value || (value === ABSENT && underObject)) this.#baseWrites = true;
    return this.#settle({ value: next, armed: [...kept, ...moved] }, before);
  }

  #settle(next: ExpiryState, before: ExpiryState): readonly Armed[] {
    this.base = next;
    this.records = NO_RECORDS;
    this.#current = next;
    return armedSince(before, next);
  }

  /** The state read at `now`: what is due has fired (nothing is changed). */
  at(now: number, start: Slot): ExpiryState {
    return fireDue(this.current(start), now);
  }

  /** When what is read changes by itself next (an armed expiry comes due), or Infinity. */
  nextChange(now: number, start: Slot): number {
    return nextDue(this.at(now, start)) ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Folds every op stamped at or below `horizon` (every replica holds them all), and fires what
   * is due by it: nothing stamped at or below it can come any more, and everything after it
   * comes after those expiries. Returns the ops folded away.
   */
  fold(horizon: Stamp, start: Slot): Op[] {
    let count = 0;
    while (count < this.records.length && !isAfter(this.records[count]!.stamp, horizon)) count++;
    const before = this.base ?? unarmed(start);
    let state = before;
    for (let i = 0; i < count; i++) state = this.#step(state, this.records[i]!);
    state = fireDue(state, horizon.wall);
    const folded = count === 0 ? [] : this.records.splice(0, count);
    if (this.records.length === 0) this.records = NO_RECORDS;
    // An expiry that fired deleted something: a write too, like the ops that write a value.
    if (state.value !== before.value || folded.some((op) => op.kind !== 'ttl')) this.#baseWrites = true;
    if (state !== before || this.base !== undefined) this.base = state;
    this.#current = undefined;
    return folded;
  }

  /**
   * Drops every op older than `stamp` and what was folded (a later write at an ancestor wiped
   * them). Returns the latest op dropped that wrote a value (it made the ancestor an object).
   */
  prune(stamp: Stamp): Op | undefined {
    let count = 0;
    while (count < this.records.length && isAfter(stamp, this.records[count]!.stamp)) count++;
    let latestWrite: Op | undefined;
    for (let i = count - 1; i >= 0 && latestWrite === undefined; i--) if (this.records[i]!.kind !== 'ttl') latestWrite = this.records[i];
    if (count > 0) this.records.splice(0, count);
    if (this.records.length === 0) this.records = NO_RECORDS;
    this.base = undefined;
    this.#baseWrites = false;
    this.#current = undefined;
    return latestWrite;
  }

  /** Whether anything here writes a value (and so makes its parent an object). */
  writes(): boolean {
    return this.#baseWrites || this.records.some((op) => op.kind !== 'ttl');
  }

  /** Whether the folded state holds a write (see `writes`), not only expiries. */
  get baseWrites(): boolean {
    return this.#baseWrites;
  }

  /** The latest op held that writes a value. */
  latestWrite(): Op | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i]!.kind !== 'ttl') return this.records[i];
    return undefined;
  }

  /** Whether it holds nothing: no op, nothing folded. */
  isEmpty(): boolean {
    return this.records.length === 0 && this.base === undefined;
  }

  /** Replaces the folded state outright (a tree rebuilt from a snapshot), dropping what was derived from the old one. */
  rebase(state: ExpiryState): void {
    this.base = state;
    this.#current = undefined;
  }

  /** The root's start changed (its parent's value there): a state built on it is stale. */
  restarted(): void {
    if (this.base === undefined) this.#current = undefined;
  }
}
