import type { Armed } from './expiry.js';
import type { KeyTimes } from './key-times.js';
import { armedBy, type TreeNode } from './node.js';
import { samePath, type Segments } from './path.js';
import { Schedule, type Due } from './schedule.js';

// Entries a GC round checks while a sweep runs (see ExpirySchedule.collected): at least
// SWEEP_LEAST, and SWEEP_PER_FOLDED per kid the round folded with its expiry, so that a sweep
// outpaces the entries that rounds make stale. A check reads a field; a drop moves entries in
// the heap: rounds that folded 10k sessions swept in 4-8 ms (profiled, a million of them held).
const SWEEP_LEAST = 4096;
const SWEEP_PER_FOLDED = 4;

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
  // Kids folded with their expiries since a sweep last began, and in the GC round going on.
  #foldedSince = 0;
  #foldedInRound = 0;
  // Where the sweep dropping those entries goes on from (see collected); undefined between sweeps.
  #sweptTo: number | undefined;

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
    const root = depth === path.length ? path : path.slice(0, depth);
    const by = armedBy(node);
    for (const entry of armed) {
      // Taken off already (a late op replayed the bucket, which arms it again): not twice.
      if (!this.toCome(entry.at)) continue;
      this.#heap.add({ at: entry.at, path: entry.path.length === 0 ? root : [...root, ...entry.path], by });
    }
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
    this.#foldedSince++;
    this.#foldedInRound++;
  }

  /**
   * After a GC round: folded kids come up through their node's entry, so their own entries are
   * dropped, once enough of them piled up for a sweep of the schedule to pay. The sweep goes
   * over several rounds, a bounded share of the schedule each (see SWEEP_PER_FOLDED): in one
   * pass, a schedule of a million sessions with a ttl held a hub's event loop for 30-130 ms
   * every few rounds.
   */
  collected(): void {
    const folded = this.#foldedInRound;
    this.#foldedInRound = 0;
    if (this.#sweptTo === undefined) {
      if (this.#foldedSince <= Math.max(1024, this.#heap.size / 4)) return;
      this.#foldedSince = 0;
      this.#sweptTo = 0;
    }
    const budget = Math.max(SWEEP_LEAST, SWEEP_PER_FOLDED * folded);
    this.#sweptTo = this.#heap.sweep(this.#sweptTo, budget, (due) => due.by?.foldedAway !== true);
    if (this.#sweptTo < this.#heap.size) return;
    this.#sweptTo = undefined;
    // What the sweep dropped leaves room in the array (8 bytes an entry): a copy of what is left.
    this.#heap.trim();
  }

  /** Starts over from what the tree holds (it was rebuilt from a snapshot). */
  restart(): void {
    this.#heap.clear();
    this.#sweptTo = undefined;
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
        const relative = due.path.slice(depth + 1);
        return kid.bucket.current(kid.start).armed.some((entry) => entry.at === due.at && samePath(entry.path, relative));
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
