import type { BaseKeys } from './base-keys.js';
import type { Bucket } from './bucket.js';
import type { KeyTimes } from './key-times.js';
import type { SnapshotReadings } from './live-readings.js';
import type { ArmedBy } from './schedule.js';
import { compareStamps, isAfter, type Stamp } from './clock.js';
import { touchesExpiry, type Op } from './op.js';
import { insertionIndex, opAt, releaseOps, withOpAt, type OwnOps } from './own-ops.js';
import { NOT_HOLDING } from './read-time.js';
import { applyOp, asObject, project, type Slot } from './slot.js';
import type { JsonValue } from './value.js';

// The values a node holds (core/slot.ts), re-exported for the modules built on nodes.
export { ABSENT, EMPTY_OBJECT, applyOp, asObject, project, type Slot } from './slot.js';
export type { ExpiryClock } from './read-time.js';

/**
 * Who holds a node's `foldBase` besides the node (see TreeNode.foldBase): nobody; a snapshot
 * being encoded, over several turns (not frozen: freezing a million keys takes tens of ms);
 * users or a bucket (frozen).
 */
export type BaseHeld = 'nobody' | 'snapshot' | 'frozen';

/** Marks a node without a GC-folded base. */
export const NO_BASE: unique symbol = Symbol('collective.no-base');

/** Marks a node whose materialized view must be rebuilt before the next read. */
export const STALE: unique symbol = Symbol('collective.stale');

// Most nodes are intermediate and never hold an op: they share this one until they do, which
// halves what building a large tree allocates (and what the GC then has to move).
const NO_OPS: Op[] = Object.freeze([]) as unknown as Op[];

/**
 * One path of the replicated tree.
 *
 * The value of a node is defined by replaying, in stamp order, its own ops on top of `start`
 * (or `base`), where any write below the node turns it into an object first. The node keeps
 * just enough to recompute that value whatever order ops arrive in:
 * - `ops`: its own live ops, sorted by stamp (as columns once many: core/op-columns.ts). An op
 *   wiped by a later set/delete here, or by any later op at an ancestor, is discarded: no op
 *   set containing the wiper can revive it.
 * - `touch`: the latest discarded descendant op stamped between two own ops. It changes the
 *   result of a later incr/append (they restart from 0 / [] on an object), so it is kept, and
 *   shipped in deltas, so that every replica folds the same way.
 * - `kids`: descendants with ops later than every own op (anything older is wiped).
 * - `base`: what GC folded, standing for ops at or below the horizon; older than any live op.
 * - `bucket`: set on a node whose subtree holds expiries: that subtree is then kept as the
 *   specification states it (core/bucket.ts), with no kids, ops or base of the trie's own.
 * - `folded`: kids GC folded into `base` although each expires (a session, a window): key to
 *   expiry time. A kid that is only a value with one expiry at its root costs a map entry here
 *   instead of a node and a bucket; it becomes a bucket again as soon as anything but a read
 *   reaches it (ReplicatedTree.#kidAt). Valid only with `base` and no own ops: whatever
 *   replaces either drops it.
 */
export class TreeNode {
  /**
   * Own live ops, sorted by stamp: an array, or columns once many (OwnOps). Shared and frozen
   * while empty: change it through the methods below.
   */
  ops: OwnOps = NO_OPS;
  base: Slot | typeof NO_BASE = NO_BASE;
  touch: Op | undefined = undefined;
  // Kids live in a null-prototype object rather than a Map: V8 walks dictionary-mode objects
  // with internalized keys about twice as fast as Map.get, and `get` is the hot path.
  kids: Record<string, TreeNode> | undefined = undefined;
  kidCount = 0;
  /** What the schedule's entries this node's bucket armed share (see ArmedBy, `armedBy`). */
  armedBy: ArmedBy | undefined = undefined;
  /** The parent's own value projected at this node's key. */
  start: Slot;
  /** The fold of base/start, touch and ops: this node's value, ignoring its kids. */
  own: Slot;
  /** Cached frozen value of the whole subtree (own overlaid with kids). */
  view: Slot | typeof STALE = STALE;
  /** The view holds until this time (ms): an expiry in the subtree comes due then. */
  viewUntil = Number.POSITIVE_INFINITY;
  /**
   * `UNTIMED` while `viewUntil` is not a time; else the read epoch in which the view was last
   * found holding (see ReadTime). One small integer, cheaper to test on every read than the time.
   */
  viewEpoch = NOT_HOLDING;
  bucket: Bucket | undefined = undefined;
  folded: KeyTimes | undefined = undefined;
  /**
   * The object GC last folded kids into here: the base while `base` is this very object. While
   * nothing outside holds it (`foldBaseHeld`), the next fold adds to it in place, so that
   * folding a few kids into a parent of a million keys costs a few keys, not a copy of the
   * million. Whatever hands the base out calls `shareBase` first: a view or a bucket freezes it,
   * a snapshot (internal, read over several turns) holds it, or reads it through a reading once
   * it has many keys (`readBase`: then the folds go on adding to it in place).
   */
  foldBase: Record<string, JsonValue> | undefined = undefined;
  /** How many keys `foldBase` holds: a parent of many stays a node (see ReplicatedTree). */
  foldBaseKeys = 0;
  /** The keys of `foldBase`, listed for snapshots once it holds many (see BaseKeys). */
  foldBaseListed: BaseKeys | undefined = undefined;
  /** Who holds `foldBase` besides this node: the next fold into it copies it first. */
  foldBaseHeld: BaseHeld = 'nobody';

  constructor(start: Slot) {
    this.start = start;
    this.own = start;
  }

  /** The stamp of the latest own op, which wipes every older write below this node. */
  lastOwnOp(): Op | undefined {
    return this.ops.length === 0 ? undefined : opAt(this.ops, this.ops.length - 1);
  }

  /** Inserts an own op at `index` of the sorted ops. */
  insertOp(index: number, op: Op): void {
    this.folded = undefined;
    const ops = this.ops;
    if (ops === NO_OPS) this.ops = [op];
    else if (Array.isArray(ops)) this.ops = withOpAt(ops, index, op);
    else if (touchesExpiry(op)) this.ops = withOpAt([...ops], index, op); // never, today: such ops live in buckets
    else ops.insert(index, op);
  }

  /** Makes `op` the only own op (a set or delete wipes the others). Reuses the array. */
  replaceOps(op: Op): void {
    this.folded = undefined;
    const ops = this.ops;
    if (ops === NO_OPS || !Array.isArray(ops)) {
      releaseOps(ops);
      this.ops = [op];
    } else {
      ops.length = 1;
      ops[0] = op;
    }
  }

  /** Drops every own op (their effect was folded into the base). */
  dropOps(): void {
    releaseOps(this.ops);
    this.ops = NO_OPS;
  }

  /**
   * Drops the first `count` ops, in place. A set on a key with a record drops one at every
   * write: `shift` does that without the array `splice` returns (measured: 29 against 62 ns);
   * `copyWithin` is slower than either, small or large (128 ns; 3.0 against 2.0 ms for 100k of
   * 150k). Columns drop from the front without moving anything (OpColumns.dropFirst).
   */
  dropFirstOps(count: number): void {
    if (count === 0) return;
    const ops = this.ops;
    if (count >= ops.length) {
      releaseOps(ops);
      this.ops = NO_OPS;
    } else if (!Array.isArray(ops)) ops.dropFirst(count);
    else if (count === 1) ops.shift();
    else ops.splice(0, count);
  }

  kid(key: string): TreeNode | undefined {
    return this.kids === undefined ? undefined : this.kids[key];
  }

  addKid(key: string, kid: TreeNode): void {
    (this.kids ??= Object.create(null) as Record<string, TreeNode>)[key] = kid;
    this.kidCount++;
  }

  removeKid(key: string): void {
    if (this.kids === undefined || this.kids[key] === undefined) return;
    delete this.kids[key];
    if (--this.kidCount === 0) this.kids = undefined;
  }

  dropKids(): void {
    this.folded = undefined;
    this.kids = undefined;
    this.kidCount = 0;
  }

  /** The kids as [key, node] pairs (a copy: safe to remove kids while iterating). */
  kidEntries(): [string, TreeNode][] {
    const entries: [string, TreeNode][] = [];
    if (this.kids !== undefined) for (const key in this.kids) entries.push([key, this.kids[key]!]);
    return entries;
  }

  isEmpty(): boolean {
    return this.ops.length === 0 && this.base === NO_BASE && this.kids === undefined && this.touch === undefined && (this.bucket === undefined || this.bucket.isEmpty());
  }

  /**
   * Whether this node, a kid, made its parent an object: anything written below a value does;
   * a subtree holding only `ttl` ops (which write nothing) does not.
   */
  writes(): boolean {
    if (this.bucket !== undefined) return this.bucket.writes();
    // A node only on the way to such a subtree writes nothing of its own either.
    return this.ops.length > 0 || this.base !== NO_BASE || this.touch !== undefined || kidsWrite(this);
  }
}

/**
 * The base of `node` as one that may be handed out (`frozen`, for users) or held while read
 * over several turns (a snapshot): either way no longer added to in place.
 */
export function shareBase(node: TreeNode, frozen = true): Slot | typeof NO_BASE {
  if (node.base === node.foldBase && node.foldBaseHeld !== 'frozen') {
    if (frozen) Object.freeze(node.foldBase);
    node.foldBaseHeld = frozen ? 'frozen' : 'snapshot';
  }
  // Whoever encodes it walks the keys the folds listed, not Object.keys of a million.
  if (frozen && node.base === node.foldBase) node.foldBaseListed?.listFor(node.foldBase);
  return node.base;
}

/**
 * Whether the base of `node` is a parent of many keys that GC folds into in place even while
 * snapshots read it (see `readBase`): listed, and not frozen (handed out, so copied by the next fold).
 */
export function readsInPlace(node: TreeNode): boolean {
  return node.foldBaseListed !== undefined && node.base === node.foldBase && node.foldBaseHeld !== 'frozen';
}

/**
 * The base of `node` for a snapshot read over several turns: where it `readsInPlace`, a reading
 * of it, with `overlay` (its kids' values, undefined: none) over it; the folds go on adding to
 * the base in place and tell the reading what they change (see BaseReading), until `readings`
 * (the snapshot's) are ended. Any other base is held as it is (the next fold copies it), and
 * `overlay` must be undefined.
 */
export function readBase(node: TreeNode, overlay?: ReadonlyMap<string, JsonValue | undefined>, readings?: SnapshotReadings): Slot | typeof NO_BASE {
  if (!readsInPlace(node)) return shareBase(node, false);
  const reading = node.foldBaseListed!.read(node.foldBase!, overlay);
  readings?.add(reading);
  // Not a JSON value, but read as the object it stands for by whatever encodes it.
  return reading as unknown as JsonValue;
}

/**
 * The expiry times of the kids `node` folded into its base (`node.folded`, which must be set),
 * for a snapshot read over several turns: [key, time] pairs, read lazily from the base's listed
 * keys where it has them (a million folded sessions are not listed in one turn), a reading
 * taken into `readings` then.
 */
export function readFolded(node: TreeNode, readings?: SnapshotReadings): Iterable<[string, number]> & { latest: number } {
  const folded = node.folded!;
  const listed = node.foldBaseListed;
  if (listed === undefined || node.base !== node.foldBase) return Object.assign([...folded], { latest: folded.latest });
  const reading = folded.read(listed.keys());
  readings?.add(reading);
  return { latest: reading.latest, [Symbol.iterator]: () => reading.entries() };
}

/**
 * Replays the first `count` of `ops` on `start`; `touch` (a descendant write) turns the value
 * into an object just before the first op stamped after it, or at the end if none is.
 */
export function replay(start: Slot, ops: OwnOps, count: number, touch: Stamp | undefined): Slot {
  if (!Array.isArray(ops)) return ops.replay(start, count, touch);
  let current = start;
  for (let i = 0; i < count; i++) {
    const op = ops[i]!;
    if (touch !== undefined && compareStamps(touch, op.stamp) < 0) {
      current = asObject(current);
      touch = undefined;
    }
    current = applyOp(current, op);
  }
  return touch === undefined ? current : asObject(current);
}

/** A node's own value: its ops and touch replayed on its base or start. */
export function foldOwn(node: TreeNode): Slot {
  // The touch is always older than the last own op (it is recorded only when one wipes it).
  return replay(node.base !== NO_BASE ? node.base : node.start, node.ops, node.ops.length, node.touch?.stamp);
}

/** Whether any kid of `node` made it an object (see TreeNode.writes). */
export function kidsWrite(node: TreeNode): boolean {
  if (node.kids === undefined) return false;
  for (const key in node.kids) if (node.kids[key]!.writes()) return true;
  return false;
}

/** Recomputes a node's own value and, where its projection changed, its kids'. */
export function refresh(node: TreeNode): void {
  node.view = STALE;
  if (node.bucket !== undefined) {
    node.bucket.restarted();
    return;
  }
  const own = foldOwn(node);
  if (own === node.own) return;
  node.own = own;
  if (node.kids === undefined) return;
  for (const key in node.kids) {
    const kid = node.kids[key]!;
    const start = project(own, key);
    if (start !== kid.start) {
      kid.start = start;
      refresh(kid);
    }
  }
}

/** Recomputes a whole subtree from scratch (after pruning or restoring). */
export function recompute(node: TreeNode): void {
  node.view = STALE;
  if (node.bucket !== undefined) {
    node.own = node.start;
    node.bucket.restarted();
    return;
  }
  node.own = foldOwn(node);
  if (node.kids === undefined) return;
  for (const key in node.kids) {
    const kid = node.kids[key]!;
    kid.start = project(node.own, key);
    recompute(kid);
  }
}

/** The later of an op and a candidate (either may be missing). */
export function laterOp(a: Op | undefined, b: Op | undefined): Op | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return isAfter(a.stamp, b.stamp) ? a : b;
}

/**
 * Removes from the subtree of `node` everything stamped before `stamp` (an own op at an
 * ancestor wiped it) and returns the latest op removed. A base is always older than a live
 * op, so it goes too.
 */
export function pruneOlder(node: TreeNode, stamp: Op['stamp']): Op | undefined {
  if (node.bucket !== undefined) {
    node.view = STALE;
    return node.bucket.prune(stamp);
  }
  let removed: Op | undefined;
  // The ops stamped before it come first (no own op has its stamp: a stamp is one op's).
  const count = insertionIndex(node.ops, stamp);
  if (count > 0) {
    removed = opAt(node.ops, count - 1);
    node.dropFirstOps(count);
  }
  node.base = NO_BASE;
  node.folded = undefined;
  if (node.touch !== undefined && isAfter(stamp, node.touch.stamp)) {
    removed = laterOp(removed, node.touch);
    node.touch = undefined;
  }
  for (const [key, kid] of node.kidEntries()) {
    removed = laterOp(removed, pruneOlder(kid, stamp));
    if (kid.isEmpty()) node.removeKid(key);
  }
  return removed;
}

/**
 * Removes everything below `node` stamped before `stamp` (a new last own op of `node` wipes
 * it), keeping `node`'s own ops and base, and returns the latest op removed that wrote a value.
 */
export function pruneKidsOlder(node: TreeNode, stamp: Op['stamp']): Op | undefined {
  let removed: Op | undefined;
  for (const [key, kid] of node.kidEntries()) {
    removed = laterOp(removed, pruneOlder(kid, stamp));
    if (kid.isEmpty()) node.removeKid(key);
  }
  return removed;
}

/** The latest op anywhere below `node` (not its own) that wrote a value. */
export function latestBelow(node: TreeNode): Op | undefined {
  let latest: Op | undefined;
  if (node.kids === undefined) return undefined;
  for (const key in node.kids) {
    const kid = node.kids[key]!;
    if (kid.bucket !== undefined) {
      latest = laterOp(latest, kid.bucket.latestWrite());
      continue;
    }
    latest = laterOp(latest, kid.lastOwnOp());
    latest = laterOp(latest, kid.touch);
    latest = laterOp(latest, latestBelow(kid));
  }
  return latest;
}

/** What the schedule's entries armed by the bucket of `node` share (see ArmedBy): made on the first. */
export function armedBy(node: TreeNode): ArmedBy {
  return (node.armedBy ??= { foldedAway: false, root: undefined });
}
