import type { Armed } from './expiry.js';
import type { KeyTimes } from './key-times.js';
import { armedBy, type TreeNode } from './node.js';
import { isPathAt, type Segments } from './path.js';
import { Schedule, type Due } from './schedule.js';
import { STALE_SWEEP_PER_ENTRY, StaleSweep } from './stale-sweep.js';

// Entries a GC round checks while a sweep runs (see ExpirySchedule.collected): at least
// SWEEP_LEAST, and STALE_SWEEP_PER_ENTRY per kid the round folded with its expiry, so that a
// sweep outpaces the entries that rounds make stale. Rounds that folded 10k sessions swept in
// 4-8 ms (profiled, a million of them held).
const SWEEP_LEAST = 4096;

/**
 * When the expiries armed in a replicated tree come due, for its timer and its watchers: an
 * entry per expiry armed in a bucket, and one per node for the kids it folded with their
 * expiries (their times live in the node's KeyTimes). Entries are never removed when an expiry
 * is cleared, moved or folded: whoever takes one checks that it still holds, against the tree
 * (`root`), without changing it.
 */
export class ExpirySchedule {
  readonly #root: TreeNode;
  readonly #heap = new Schedule();
  // Expiries due by this time were taken off (takeDue): one armed, folded or unfolded again
  // with such a time is not scheduled twice.
  #takenUpTo = Number.NEGATIVE_INFINITY;
  // Kids folded with their expiries in the GC round going on.
  #foldedInRound = 0;
  // Drops the entries that stand for nothing any more, before they come up (see #keeps).
  readonly #sweep = new StaleSweep();
  // Entries the sweep going on dropped so far.
  #swept = 0;

  constructor(root: TreeNode) {
    this.#root = root;
  }

  /** How many entries it holds, stale ones included. */
  get size(): number {
    return this.#heap.size;
  }

  /** Whether an expiry due at `at` has yet to be taken off (it is scheduled only then). */
  toCome(at: number): boolean {
    return at > this.#takenUpTo;
  }

  /** Schedules one expiry (whole path). */
  add(due: Due): void {
    this.#heap.add(due);
  }

  /**
   * Schedules the expiries the bucket of `node` armed: the bucket's root is `path` cut at
   * `depth` (the path itself when that is all of it: most expiries are armed at the path
   * written, and the entry then shares its array); their paths are relative to it.
   */
  track(path: Segments, depth: number, armed: readonly Armed[], node: TreeNode): void {
    if (armed.length === 0) return;
    // A node that armed before (a session written again with its ttl) most often replaced
    // what it armed: its earlier entry stands for nothing now.
    if (node.armedBy !== undefined) this.#sweep.madeStale();
    const root = depth === path.length ? path : path.slice(0, depth);
    const by = armedBy(node);
    for (const entry of armed) {
      // Taken off already (a late op replayed the bucket, which arms it again): not twice.
      if (!this.toCome(entry.at)) continue;
      const due: Due = { at: entry.at, path: entry.path.length === 0 ? root : [...root, ...entry.path], by };
      this.#heap.add(due);
      if (entry.path.length === 0) by.root = due;
    }
    // Paced by the writes too: a store whose keys are all written already (sessions written
    // again and again) makes no new nodes, and a hub alone then runs no GC round.
    this.#sweepOn(STALE_SWEEP_PER_ENTRY * armed.length);
  }

  /**
   * Gives the folded kids of the node at `path` an entry at their earliest time, unless one that
   * early is there.
   */
  trackFolded(folded: KeyTimes, path: Segments): void {
    const at = folded.nextTime();
    if (at === undefined || at >= folded.scheduledAt) return;
    folded.scheduledAt = at;
    this.#heap.add({ at, path: [...path], folded });
  }

  /** A kid was folded with its expiry: its own entry now stands for nothing. */
  foldedKid(): void {
    this.#sweep.madeStale();
    this.#foldedInRound++;
  }

  /**
   * After a GC round: folded kids come up through their node's entry, so their own entries go,
   * once enough entries went stale for a sweep of the schedule to pay. The sweep goes over
   * several rounds and writes, a bounded share of the schedule each: in one pass, a schedule of
   * a million sessions with a ttl held a hub's event loop for 30-130 ms every few rounds.
   */
  collected(): void {
    const folded = this.#foldedInRound;
    this.#foldedInRound = 0;
    this.#sweepOn(Math.max(SWEEP_LEAST, STALE_SWEEP_PER_ENTRY * folded));
  }

  // Checks up to `budget` entries of the sweep going on (or of one begun now, if due).
  #sweepOn(budget: number): void {
    if (!this.#sweep.step(this.#heap.size, budget, this.#sweepFrom)) return;
    // What the sweep dropped leaves room in the array (8 bytes an entry): a copy of what is
    // left, where that is worth a copy.
    if (this.#swept > this.#heap.size / 4) this.#heap.trim();
    this.#swept = 0;
  }

  // One step of a sweep (see StaleSweep.step); made once, not at every write.
  readonly #sweepFrom = (from: number, budget: number): number | undefined => {
    const before = this.#heap.size;
    const next = this.#heap.sweep(from, budget, this.#keeps);
    this.#swept += before - this.#heap.size;
    return next < this.#heap.size ? next : undefined;
  };

  // Whether a sweep keeps an entry: a node's entry for its folded kids always (there is one per
  // such node, and dropping it means scheduling the next: see #drop); an entry of a kid folded
  // away with its expiry never (one field tells); any other while it holds.
  readonly #keeps = (due: Due): boolean => {
    if (due.folded !== undefined) return true;
    const by = due.by;
    if (by === undefined) return this.#holds(due);
    if (by.foldedAway) return false;
    // The latest entry armed at the node itself is kept without a lookup (at most one per node
    // may have gone stale since: it goes when it comes up); every earlier one there is stale (a
    // later op replaying the bucket arms what holds again, in a new entry that becomes the latest).
    if (due === by.root) return true;
    if (by.root !== undefined && due.path.length === by.root.path.length) return false;
    return this.#holds(due);
  };

  /** Starts over from what the tree holds (it was rebuilt from a snapshot). */
  restart(): void {
    this.#heap.clear();
    this.#sweep.reset();
    this.#swept = 0;
    this.#trackAll(this.#root, []);
  }

  /** When the next armed expiry comes due (ms), if any. */
  nextDue(): number | undefined {
    for (let due = this.#heap.peek(); due !== undefined; due = this.#heap.peek()) {
      if (this.#holds(due)) return due.at;
      this.#drop(due);
    }
    return undefined;
  }

  /** Takes the armed expiries due by `time` off the schedule, each once. */
  takeDue(time: number): Due[] {
    if (time > this.#takenUpTo) this.#takenUpTo = time;
    const due: Due[] = [];
    let seen: Set<string> | undefined;
    for (let next = this.#heap.peek(); next !== undefined && next.at <= time; next = this.#heap.peek()) {
      if (!this.#holds(next)) {
        this.#drop(next);
        continue;
      }
      this.#heap.pop();
      const folded = next.folded;
      if (folded === undefined) {
        // The same expiry scheduled twice (a bucket replayed for a late op arms it again): once.
        const key = `${next.at}\u0000${next.path.join('\u0000')}`;
        if ((seen ??= new Set()).has(key)) continue;
        seen.add(key);
        due.push(next);
        continue;
      }
      folded.scheduledAt = Number.POSITIVE_INFINITY;
      for (const [key, at] of folded.takeDue(time)) due.push({ at, path: [...next.path, key] });
      this.trackFolded(folded, next.path);
    }
    return due;
  }

  // Whether an entry still holds: that expiry is armed there, at that time (for a node's folded
  // kids: the node still holds them, and that is the earliest).
  #holds(due: Due): boolean {
    if (due.folded !== undefined) return due.folded.scheduledAt === due.at && this.#nodeAt(due.path)?.folded === due.folded && due.folded.nextTime() === due.at;
    let node = this.#root;
    for (let depth = 0; depth < due.path.length; depth++) {
      const kid = node.kid(due.path[depth]!);
      // A kid folded since: its node's entry stands for it now.
      if (kid === undefined) return false;
      node = kid;
      if (kid.bucket !== undefined) {
        // Sweeps check entries by the thousand: no copy of the path, no closure.
        for (const entry of kid.bucket.current(kid.start).armed) if (entry.at === due.at && isPathAt(entry.path, due.path, depth + 1)) return true;
        return false;
      }
    }
    return false;
  }

  // An entry that no longer holds goes; a node's, if it was the live one, is replaced by one at
  // the node's earliest time now.
  #drop(due: Due): void {
    this.#heap.pop();
    const folded = due.folded;
    if (folded === undefined || folded.scheduledAt !== due.at) return;
    folded.scheduledAt = Number.POSITIVE_INFINITY;
    if (this.#nodeAt(due.path)?.folded === folded) this.trackFolded(folded, due.path);
  }

  // The node at `path`, if it exists (nothing is unfolded).
  #nodeAt(path: Segments): TreeNode | undefined {
    let node: TreeNode | undefined = this.#root;
    for (let depth = 0; depth < path.length && node !== undefined; depth++) node = node.kid(path[depth]!);
    return node;
  }

  #trackAll(node: TreeNode, path: Segments): void {
    if (node.bucket !== undefined) {
      this.track(path, path.length, node.bucket.current(node.start).armed, node);
      return;
    }
    if (node.folded !== undefined) {
      node.folded.scheduledAt = Number.POSITIVE_INFINITY;
      this.trackFolded(node.folded, path);
    }
    for (const [key, kid] of node.kidEntries()) this.#trackAll(kid, [...path, key]);
  }
}
