import { BaseKeys } from './base-keys.js';
import { isAfter, type Stamp } from './clock.js';
import type { ReadTime } from './read-time.js';
import type { ExpirySchedule } from './expiry-schedule.js';
import { KeyTimes } from './key-times.js';
import { ABSENT, NO_BASE, STALE, asObject, foldOwn, replay, type Slot, type TreeNode } from './node.js';
import { viewOf } from './view.js';
import { eachHighestSeq, insertionIndex, type OwnOps } from './own-ops.js';
import type { JsonValue } from './value.js';

// GC of the replicated tree (ReplicatedTree.collect): folding what every replica has applied
// into bases, and counting what is left to fold.

/** How much bookkeeping the tree holds beyond the data itself. */
export interface TreeMetadata {
  /**
   * Nodes that hold op records or expiries, or kids that do (the root counts); not those that
   * hold only values (parents of many keys kept for GC to fold into in place: data, not metadata).
   */
  nodes: number;
  /** Op records held: live own ops and touches. */
  ops: number;
}

// Whether a kid can be folded into its parent's base with its expiry beside it: a bucket
// holding only a value (no record left) with one expiry, at its root.
function foldsWithExpiry(kid: TreeNode): boolean {
  const bucket = kid.bucket;
  if (bucket === undefined || bucket.records.length > 0 || bucket.base === undefined) return false;
  const { value, armed } = bucket.base;
  return value !== ABSENT && armed.length === 1 && armed[0]!.path.length === 0 && kid.kids === undefined;
}

/**
 * How GC treats the parents it folds kids into. `keepNodeKeys`: from this many keys, a base GC
 * folds into in place keeps its node when the node holds nothing else, rather than going into
 * its parent's base: there it would be frozen into the parent's, and the next writes below it
 * would start from a copy of it again. Smaller objects go back into their parent: a node each
 * would cost more than their copies. Tests lower it to run the kept nodes' paths often.
 * @internal
 */
export const foldTuning = { keepNodeKeys: 64 };

// Whether `node` is a parent of many keys that GC folds into (sessions, users).
function keepsFolding(node: TreeNode): boolean {
  return node.base === node.foldBase && node.foldBaseKeys >= foldTuning.keepNodeKeys;
}

// Adds the op records of the subtree at `node` to `counts`, and its nodes that hold records or
// expiries, or kids that do; returns whether `node` is one. Nodes holding only values (parents
// GC keeps to fold into in place, and the kids they kept) are data, not metadata.
function countMetadata(node: TreeNode, counts: TreeMetadata): boolean {
  counts.ops += node.ops.length + (node.touch === undefined ? 0 : 1) + (node.bucket?.records.length ?? 0);
  let holds = node.ops.length > 0 || node.touch !== undefined || node.bucket !== undefined || node.folded !== undefined;
  if (node.kids !== undefined) for (const key in node.kids) if (countMetadata(node.kids[key]!, counts)) holds = true;
  if (holds) counts.nodes++;
  return holds;
}

// Whether `node` holds no record, kid or expiry: only its value (base or start).
function holdsOnlyValue(node: TreeNode): boolean {
  return node.ops.length === 0 && node.touch === undefined && node.kids === undefined && node.bucket === undefined && node.folded === undefined;
}

/** Per origin, the highest seq of the ops a GC round folded away. */
export type FoldedSeqs = Map<string, number>;

function raise(folded: FoldedSeqs, origin: string, seq: number): void {
  if (seq > (folded.get(origin) ?? 0)) folded.set(origin, seq);
}

// Notes the first `count` of `ops` as folded.
function noteFolded(folded: FoldedSeqs, ops: OwnOps, count: number): void {
  eachHighestSeq(ops, count, (origin, seq) => raise(folded, origin, seq));
}

/**
 * Folds the tree at `root` up to `horizon` (see ReplicatedTree.collect), reading expiries at
 * `time` and keeping `schedule` in step with the kids folded with theirs. Returns, per origin,
 * the highest seq folded away.
 */
export function collectTree(root: TreeNode, horizon: Stamp, time: ReadTime, schedule: ExpirySchedule): FoldedSeqs {
  const folded: FoldedSeqs = new Map();
  new TreeFolder(time, schedule).node(root, horizon, folded, []);
  return folded;
}

/** What the tree at `root` holds beyond its data. */
export function treeMetadata(root: TreeNode): TreeMetadata {
  const counts = { nodes: 0, ops: 0 };
  if (!countMetadata(root, counts)) counts.nodes++; // the root counts
  return counts;
}

// One GC round's walk, with the tree's read time and schedule.
class TreeFolder {
  readonly #time: ReadTime;
  readonly #schedule: ExpirySchedule;

  constructor(time: ReadTime, schedule: ExpirySchedule) {
    this.#time = time;
    this.#schedule = schedule;
  }

  // Returns whether the subtree holds anything at or below the horizon (before folding).
  node(node: TreeNode, horizon: Stamp, folded: FoldedSeqs, path: string[]): boolean {
    if (node.bucket !== undefined) return this.#bucket(node, horizon, folded);
    // The ops are in stamp order: those at or below the horizon come first.
    const count = insertionIndex(node.ops, horizon);
    const touchOld = node.touch !== undefined && !isAfter(node.touch.stamp, horizon);
    let hadOld = count > 0 || touchOld || node.base !== NO_BASE;
    if (count > 0 || touchOld) {
      const start = node.base !== NO_BASE ? node.base : node.start;
      node.base = replay(start, node.ops, count, touchOld ? node.touch!.stamp : undefined);
      noteFolded(folded, node.ops, count);
      node.dropFirstOps(count);
      if (touchOld) {
        raise(folded, node.touch!.stamp.node, node.touch!.seq);
        node.touch = undefined;
      }
    }
    // Kids folded with their expiries: those due by the horizon fire for good (nothing earlier
    // can come any more), as in a bucket.
    const collapsed: [string, Slot][] = [];
    let kidsOld = false;
    // Through the table's heaps: a parent of a million sessions is not walked at every round.
    if (node.folded !== undefined && node.folded.earliest <= horizon.wall) {
      for (const key of node.folded.takeFired(horizon.wall)) {
        collapsed.push([key, ABSENT]);
        kidsOld = true;
      }
      if (node.folded.size === 0) node.folded = undefined;
    }
    // Kids only hold ops later than every own op, so with own ops left there is nothing to fold.
    if (node.ops.length === 0 && node.kids !== undefined) {
      for (const [key, kid] of node.kidEntries()) {
        path.push(key);
        kidsOld = this.node(kid, horizon, folded, path) || kidsOld;
        path.pop();
        if (kid.isEmpty()) node.removeKid(key);
        else if (holdsOnlyValue(kid) && !keepsFolding(kid)) {
          collapsed.push([key, viewOf(kid, this.#time)]);
          node.removeKid(key);
        } else if (node.touch === undefined && foldsWithExpiry(kid)) {
          // A value with one expiry at its root: kept in this node's base, its expiry beside it.
          const state = kid.bucket!.base!;
          collapsed.push([key, state.value]);
          const at = state.armed[0]!.at;
          (node.folded ??= new KeyTimes()).set(key, at, this.#schedule.toCome(at));
          node.removeKid(key);
          if (kid.armedBy !== undefined) kid.armedBy.foldedAway = true;
          this.#schedule.foldedKid();
          kidsOld = true;
        } else if (kid.base === kid.foldBase && kid.start !== ABSENT) {
          // The kid's value is its own base now, whatever this node holds at its key: that old
          // value goes (it may be a copy of the kid's million keys, from a snapshot).
          collapsed.push([key, ABSENT]);
          kid.start = ABSENT;
          kidsOld = true;
        }
      }
      if (node.folded !== undefined) {
        this.#schedule.trackFolded(node.folded, path);
        node.folded.trim();
      }
    }
    if (kidsOld) {
      hadOld = true;
      const current = asObject(node.base !== NO_BASE ? node.base : node.start);
      if (collapsed.length > 0) this.#foldInto(node, current, collapsed);
      else node.base = current;
    }
    if (hadOld) {
      // Own ops and a touch folded into the base leave the value as it was: the base replays
      // the ops folded, in order, and the ops left replay on it as before (a counter holding a
      // quarter of a second of writes is not replayed whole at every round). Kids folded into
      // the base change what the ops start from.
      if (kidsOld) node.own = foldOwn(node);
      node.view = STALE;
    }
    return hadOld;
  }

  // Sets the collapsed kids' values (ABSENT: none) in `current`, the base of `node` or what it
  // starts from, as its new base: in place while nothing outside holds the object the last fold
  // built, else in a copy, which the next folds then add to.
  #foldInto(node: TreeNode, current: Slot, collapsed: readonly [string, Slot][]): void {
    let keys = node.foldBaseKeys;
    let listed = node.foldBaseListed;
    // In place while nobody holds the base: snapshots of a listed one read it through readings
    // (told of each change below) and do not hold it.
    let merged: Record<string, JsonValue>;
    if (node.foldBase === current && node.foldBaseHeld === 'nobody') merged = node.foldBase;
    else {
      // Counted and listed only when copied from elsewhere (a snapshot's, a parent's): a copy of
      // the last fold's own object keeps its count and a copy of its list.
      if (node.foldBase !== current) {
        const names = Object.keys(current as object);
        keys = names.length;
        listed = keys >= foldTuning.keepNodeKeys ? new BaseKeys(names) : undefined;
      } else listed = listed?.copy();
      merged = { ...(current as Record<string, JsonValue>) };
    }
    // Listed from the fold that may take it to many keys, once that fold is done: an array of
    // exactly its keys (one grown key by key would hold up to half as much again, unused).
    const listAfter = listed === undefined && keys + collapsed.length >= foldTuning.keepNodeKeys;
    for (const [key, value] of collapsed) {
      const had = Object.hasOwn(merged, key);
      if (had || value !== ABSENT) listed?.changing(key, merged);
      if (value !== ABSENT) {
        merged[key] = value;
        if (!had) {
          keys++;
          listed?.added(key);
        }
      } else if (had) {
        delete merged[key];
        keys--;
        listed?.removed(key, keys);
      }
    }
    if (listAfter) listed = new BaseKeys(Object.keys(merged));
    else listed?.trim();
    node.base = merged;
    node.foldBase = merged;
    node.foldBaseKeys = keys;
    node.foldBaseListed = listed;
    node.foldBaseHeld = 'nobody';
  }

  // Folds a bucket; one left with no record and nothing armed is a plain node again (or
  // nothing, when it never changed its start). Returns whether it holds folded writes.
  #bucket(node: TreeNode, horizon: Stamp, folded: FoldedSeqs): boolean {
    const bucket = node.bucket!;
    const ops = bucket.fold(horizon, node.start);
    noteFolded(folded, ops, ops.length);
    node.view = STALE;
    if (bucket.records.length > 0 || (bucket.base !== undefined && bucket.base.armed.length > 0)) return bucket.baseWrites;
    node.bucket = undefined;
    if (bucket.base === undefined || !bucket.baseWrites) return false;
    node.base = bucket.base.value;
    node.own = node.base;
    return true;
  }
}
