import { Bucket } from './bucket.js';
import { convertToBucket } from './convert.js';
import { isAfter, type Stamp } from './clock.js';
import type { Armed } from './expiry.js';
import {
  ABSENT,
  EMPTY_OBJECT,
  NO_BASE,
  STALE,
  TreeNode,
  applyOp,
  armedBy,
  kidsWrite,
  latestBelow,
  laterOp,
  project,
  pruneKidsOlder,
  recompute,
  refresh,
  type ExpiryClock,
  type Slot,
} from './node.js';
import { isOverwrite, touchesExpiry, type Op } from './op.js';
import { insertionIndex, overwritesFrom } from './own-ops.js';
import type { KeyTimes } from './key-times.js';
import { isPrefixOf, pathBelow, samePath, type Segments } from './path.js';
import { ReadTime } from './read-time.js';
import { ChangeCount } from './change-count.js';
import { viewOf } from './view.js';
import { ExpirySchedule } from './expiry-schedule.js';
import { armedBelow, unmasked, type Exported, type FoldedArmed } from './exported.js';
import { SnapshotReadings } from './live-readings.js';
import { collectTree, treeMetadata, type FoldedSeqs, type TreeMetadata } from './fold.js';
import type { Due } from './schedule.js';
import { valueIn } from './subtree.js';
import { isPlainObject, type JsonValue } from './value.js';

/**
 * How many nodes a replica's writes make between folds of what it may fold at once (a hub
 * alone, a member applying its hub's stream; see ReplicatedTree.foldDue): a fold walks the
 * nodes written since the last, and copies each small parent it folds into (a parent of many
 * keys it adds to in place, see foldTuning); spacing folds keeps both amortized O(1) a write.
 * Counted in nodes made rather than in writes, keys written again and again keep their nodes
 * (measured: a member folding every 10k writes over 2000 hot keys made each node again after
 * every fold, 15% of its CPU); what folding is for, the memory of nodes, stays as bounded.
 * A hub alone paces its folds below this count while they are slow (see FoldPacing).
 */
export const FOLD_EVERY = 10_000;

/**
 * How an applied op changed a tree, for a follower that applies changes in arrival order (a
 * hub's members): `undefined`, the op itself says it (it came after everything held); a path,
 * the whole value there changed (an op that came late, placed among later ones); `null`,
 * nothing changed (a later write wipes it).
 */
export type Restated = Segments | null | undefined;

/** An op a follower applies as final: what it writes, without a stamp. */
export type FinalOp = Pick<Op, 'kind' | 'path' | 'value' | 'expireAt' | 'keepTtl'>;

// Whether two states of one bucket hold the same value and the same expiries.
function unchanged(before: { value: Slot; armed: readonly Armed[] }, after: { value: Slot; armed: readonly Armed[] }): boolean {
  const { armed } = after;
  return after.value === before.value && armed.length === before.armed.length && armed.every((entry) => before.armed.some((other) => other.at === entry.at && samePath(other.path, entry.path)));
}

/**
 * The replicated tree: applies ops in any order, with the result always equal to replaying
 * every op received, sorted by stamp, on an empty tree (DESIGN.md section 3), expiries
 * included (section 7): a subtree that holds one is kept as a Bucket, replayed by the rule.
 */
export class ReplicatedTree {
  readonly root: TreeNode = new TreeNode(EMPTY_OBJECT);
  #latest: Stamp | undefined;
  readonly #time: ReadTime;
  readonly #schedule = new ExpirySchedule(this.root);
  // Moved by every method that writes, folds, restores or takes expiries off (see `holds`).
  readonly #changes = new ChangeCount();
  // Nodes writes made, in all and as of the last fold (see foldDue).
  #nodesMade = 0;
  #madeAtCollect = 0;

  /** `clock` reads the time expiries are due by (ms); it is called only where one is armed. */
  constructor(clock: ExpiryClock = Date.now) {
    this.#time = new ReadTime(clock);
  }

  /** The time reads are at (ms): the clock, unless the latest op or an earlier read is later. */
  readTime(): number {
    return this.#time.now();
  }

  /** Nodes writes make between folds (see foldDue): FOLD_EVERY unless paced (see FoldPacing). */
  foldEvery = FOLD_EVERY;

  /** How many entries the expiry schedule holds, stale ones included (for tests). @internal */
  get scheduledExpiries(): number {
    return this.#schedule.size;
  }

  /** Whether writes made `foldEvery` nodes since the last fold: for a replica that folds at once. */
  get foldDue(): boolean {
    return this.#nodesMade - this.#madeAtCollect >= this.foldEvery;
  }

  /** The count of changes a read is made at, for caches of reads (see ChangeCount). */
  get changes(): number {
    return this.#changes.value;
  }

  /** Whether a read made at the count `changes` returns the same now (see ChangeCount). */
  holds(changes: number): boolean {
    return this.#changes.holds(changes, this.#time, this.#schedule);
  }

  /** The value at `path` (frozen), or ABSENT. A walk of the trie, then of plain values. */
  get(path: Segments): Slot {
    let node = this.root;
    let depth = 0;
    for (; depth < path.length; depth++) {
      const kids = node.kids;
      if (kids === undefined) break;
      const kid = kids[path[depth]!];
      if (kid === undefined) break;
      node = kid;
    }
    // The same few tests whether the node holds expiries or not (its view says until when).
    if (depth === path.length) return viewOf(node, this.#time);
    // A bucket has no kids, so the walk stops at the first one on the path.
    if (node.bucket !== undefined) return valueIn(viewOf(node, this.#time), path, depth);
    // A kid folded with its expiry (see TreeNode.folded) is gone once that comes: checked once
    // per read epoch while none of this node's can have come, as a timed view is (ReadTime).
    const folded = node.folded;
    if (folded !== undefined && folded.checkedEpoch !== this.#time.holdingEpoch && this.#foldedGone(folded, path[depth]!)) return ABSENT;
    // The rest of the path is not overlaid by any later write: it lies in this node's own value.
    return valueIn(node.own, path, depth);
  }

  // Whether the kid `key` folded with its expiry into `folded` has expired by the read time. The
  // table is stamped with the epoch when none of its keys can have (before its earliest time).
  #foldedGone(folded: KeyTimes, key: string): boolean {
    const now = this.#time.now();
    if (now < folded.earliest) {
      folded.checkedEpoch = this.#time.holds(folded.earliest);
      return false;
    }
    const at = folded.get(key);
    return at !== undefined && now >= at;
  }

  /** The whole tree as one frozen object. */
  getAll(): JsonValue {
    return viewOf(this.root, this.#time) as JsonValue;
  }

  /**
   * Milliseconds until the value at `path` is deleted by an expiry (its own, or one of a path
   * above it), read at `now`; undefined when nothing is armed there or nothing is there.
   */
  ttl(path: Segments): number | undefined {
    const found = this.#bucketOn(path);
    if (found === undefined) return undefined;
    const { node, depth } = found;
    const now = this.#time.now();
    const state = node.bucket!.at(now, node.start);
    if (valueIn(state.value, path, depth) === ABSENT) return undefined;
    const relative = path.slice(depth);
    let at: number | undefined;
    for (const entry of state.armed) if (isPrefixOf(entry.path, relative) && (at === undefined || entry.at < at)) at = entry.at;
    return at === undefined ? undefined : at - now;
  }

  /** Applies one op. Idempotence is the caller's job (the replica drops duplicates by seq). */
  apply(op: Op): Restated {
    this.#changes.changed();
    this.#time.saw(op.stamp.wall);
    if (this.#latest === undefined || isAfter(op.stamp, this.#latest)) {
      this.#applyLatest(op);
      this.#latest = op.stamp;
      return undefined;
    }
    return this.#applyLate(op);
  }

  // The kid of `node` at `path[depth]`, created if missing.
  #kid(node: TreeNode, path: Segments, depth: number): TreeNode {
    let kid = this.#kidAt(node, path, depth);
    if (kid === undefined) {
      kid = new TreeNode(project(node.own, path[depth]!));
      node.addKid(path[depth]!, kid);
      this.#nodesMade++;
    }
    return kid;
  }

  // The kid of `node` at `path[depth]`, if there is one: a kid folded with its expiry becomes a
  // node with its bucket again, for anything but a read to reach it.
  #kidAt(node: TreeNode, path: Segments, depth: number): TreeNode | undefined {
    const key = path[depth]!;
    const kid = node.kid(key);
    if (kid !== undefined || node.folded === undefined) return kid;
    const at = node.folded.get(key);
    if (at === undefined) return undefined;
    node.folded.delete(key);
    if (node.folded.size === 0) node.folded = undefined;
    const unfolded = new TreeNode(project(node.own, key));
    this.#nodesMade++;
    // Its value is in the parent's base already: the bucket writes nothing of its own.
    unfolded.bucket = new Bucket(depth + 1, { value: unfolded.start, armed: [{ path: [], at }] }, undefined, false);
    node.addKid(key, unfolded);
    if (this.#schedule.toCome(at)) this.#schedule.add({ at, path: path.slice(0, depth + 1), by: armedBy(unfolded) });
    return unfolded;
  }

  // The node at `path`, created if missing, with every view on the way marked stale.
  #reach(path: Segments): TreeNode {
    let node = this.root;
    for (let depth = 0; depth < path.length; depth++) {
      node.view = STALE;
      node = this.#kid(node, path, depth);
    }
    node.view = STALE;
    return node;
  }

  // Where a write at `path` lands, in one walk (a write's hot path): the first node below the
  // root that holds a bucket (#bucketOn's), or else the node at `path`, created if missing.
  // Views on the way are marked stale.
  #reachForWrite(path: Segments): TreeNode {
    let node = this.root;
    node.view = STALE;
    for (let depth = 0; depth < path.length; depth++) {
      node = this.#kid(node, path, depth);
      node.view = STALE;
      if (node.bucket !== undefined) return node;
    }
    return node;
  }

  // Whether the node #reachForWrite reached holds the bucket the write lands in (the root's is
  // not looked at, as #bucketOn does not).
  #landsInBucket(node: TreeNode): boolean {
    return node.bucket !== undefined && node !== this.root;
  }

  // The node #reachForWrite reached for `path` as a bucket, made one if it holds none (a write
  // that touches expiry): its depth.
  #bucketDepth(path: Segments, node: TreeNode): number {
    if (this.#landsInBucket(node)) return node.bucket!.depth;
    this.#schedule.track(path, path.length, convertToBucket(node, path.length), node);
    return path.length;
  }

  // The bucket `path` lands in: `found` (see #bucketOn), or the node at `path` turned into one.
  // Views on the way are marked stale: what is written there changes them.
  #bucketFor(path: Segments, found: { node: TreeNode; depth: number } | undefined): { node: TreeNode; depth: number } {
    const node = found?.node ?? this.#reach(path);
    const depth = found?.depth ?? path.length;
    this.#stale(path, depth);
    if (found === undefined) this.#schedule.track(path, depth, convertToBucket(node, depth), node);
    return { node, depth };
  }

  // The first node on `path` (walking only nodes that exist) that holds a bucket.
  #bucketOn(path: Segments): { node: TreeNode; depth: number } | undefined {
    let node = this.root;
    for (let depth = 0; depth < path.length; depth++) {
      const kid = this.#kidAt(node, path, depth);
      if (kid === undefined) return undefined;
      node = kid;
      if (kid.bucket !== undefined) return { node: kid, depth: depth + 1 };
    }
    return undefined;
  }

  // Marks the views on `path` down to `depth` stale.
  #stale(path: Segments, depth: number): void {
    let node = this.root;
    node.view = STALE;
    for (let i = 0; i < depth; i++) {
      node = node.kid(path[i]!)!;
      node.view = STALE;
    }
  }

  // The common case, every local write of a hub: the op is later than everything held, so it
  // wipes whatever is below its path and nothing above it can wipe it. O(depth).
  #applyLatest(op: Op): void {
    const node = this.#reachForWrite(op.path);
    if (this.#landsInBucket(node) || touchesExpiry(op)) {
      const depth = this.#bucketDepth(op.path, node);
      this.#schedule.track(op.path, depth, node.bucket!.insert(op, node.start), node);
      return;
    }
    if (isOverwrite(op.kind)) {
      node.replaceOps(op);
      node.base = NO_BASE;
      node.touch = undefined;
      node.own = applyOp(node.own, op);
    } else {
      let before = node.own;
      if (kidsWrite(node)) {
        // The kids made this node an object just before this op; remember when, for refolds.
        node.touch = laterOp(node.touch, latestBelow(node));
        before = EMPTY_OBJECT;
      }
      node.insertOp(node.ops.length, op);
      node.own = applyOp(before, op);
    }
    node.dropKids();
  }

  /**
   * Applies a write that is final: it comes after everything this tree holds and nothing will
   * ever be ordered before it (a member applying its hub's ordered stream, a hub alone). Its
   * effect is folded in at once, keeping no record of it: O(depth), and nothing for the GC to
   * keep. `time` is when it was made (ms): every expiry due by then fires first.
   */
  applyFinal(op: FinalOp, time: number): void {
    this.#changes.changed();
    this.#time.saw(time);
    const node = this.#reachForWrite(op.path);
    if (this.#landsInBucket(node) || touchesExpiry(op as Op)) {
      const depth = this.#bucketDepth(op.path, node);
      this.#schedule.track(op.path, depth, node.bucket!.applyFinal(op, time, node.start), node);
      return;
    }
    const { kind, value } = op;
    const before = kind !== 'set' && kind !== 'delete' && kidsWrite(node) ? EMPTY_OBJECT : node.own;
    node.own = applyOp(before, { kind, value });
    node.base = node.own;
    node.dropOps();
    node.touch = undefined;
    node.dropKids();
  }

  /**
   * A follower's hub restated the whole state at `path` (see Restated): `value` there
   * (ABSENT: nothing) and the expiries armed at or below it (relative paths).
   */
  restate(path: Segments, value: Slot, armed: readonly Armed[], underObject: boolean): void {
    this.#changes.changed();
    const found = this.#bucketOn(path);
    if (found === undefined && armed.length === 0) {
      if (value !== ABSENT) this.applyFinal({ kind: 'set', path, value }, Number.NEGATIVE_INFINITY);
      else if (underObject) this.applyFinal({ kind: 'delete', path }, Number.NEGATIVE_INFINITY);
      else this.#drop(path);
      return;
    }
    const { node, depth } = this.#bucketFor(path, found);
    this.#schedule.track(path, depth, node.bucket!.restate(pathBelow(path, depth), value, armed, node.start, underObject), node);
  }

  // Nothing at `path` any more, and its parent is not made an object for it: its node goes.
  #drop(path: Segments): void {
    const parent = this.#nodeAt(path.slice(0, -1));
    if (parent === undefined || parent.kid(path[path.length - 1]!) === undefined) return;
    this.#stale(path, path.length - 1);
    parent.removeKid(path[path.length - 1]!);
    refresh(parent);
  }

  /** Whether the value at `path` is an object, before any expiry fires by a clock. */
  holdsObject(path: Segments): boolean {
    if (path.length === 0) return true;
    const found = this.#bucketOn(path);
    if (found !== undefined) return isPlainObject(valueIn(found.node.bucket!.current(found.node.start).value, path, found.depth));
    let node = this.root;
    let depth = 0;
    for (; depth < path.length; depth++) {
      const kid = node.kid(path[depth]!);
      if (kid === undefined) break;
      node = kid;
    }
    if (depth === path.length) return isPlainObject(node.own) || kidsWrite(node);
    return isPlainObject(valueIn(node.own, path, depth));
  }

  /** Records that everything applied so far is at or before `stamp` (after `applyFinal`). */
  advanceTo(stamp: Stamp): void {
    if (this.#latest === undefined || isAfter(stamp, this.#latest)) this.#latest = stamp;
  }

  /** Records that ops were made up to `time` (ms): reads are never earlier (see `apply`). */
  sawTime(time: number): void {
    this.#time.saw(time);
  }

  // An op older than something already held: find what wipes it, or what it wipes, and
  // recompute only the subtree it can change.
  #applyLate(op: Op): Restated {
    const chain: TreeNode[] = [this.root];
    let node = this.root;
    for (let depth = 0; depth < op.path.length; depth++) {
      const kid = this.#kidAt(node, op.path, depth);
      if (kid === undefined) break;
      chain.push(kid);
      node = kid;
      if (kid.bucket !== undefined) {
        for (const each of chain) each.view = STALE;
        const bucket = kid.bucket;
        const before = bucket.current(kid.start);
        const wrote = bucket.writes();
        this.#schedule.track(op.path, depth + 1, bucket.insert(op, kid.start), kid);
        return this.#restated(op.path.slice(0, depth + 1), before, wrote, bucket, kid.start);
      }
      const last = kid.lastOwnOp();
      if (depth < op.path.length - 1 && last !== undefined && isAfter(last.stamp, op.stamp)) {
        // A `ttl` op writes nothing: wiped, it leaves nothing either.
        if (op.kind === 'ttl') return null;
        return this.#touch(chain, op) ? op.path.slice(0, depth + 1) : null;
      }
    }
    for (let depth = chain.length - 1; depth < op.path.length; depth++) {
      node = this.#kid(node, op.path, depth);
      chain.push(node);
    }
    const target = chain[chain.length - 1]!;
    if (touchesExpiry(op)) {
      // A later overwrite here wipes it whole (ops outside buckets never keep an expiry).
      if (overwritesFrom(target.ops, insertionIndex(target.ops, op.stamp))) return null;
      for (const each of chain) each.view = STALE;
      this.#schedule.track(op.path, op.path.length, convertToBucket(target, op.path.length), target);
      const bucket = target.bucket!;
      const before = bucket.current(target.start);
      const wrote = bucket.writes();
      this.#schedule.track(op.path, op.path.length, bucket.insert(op, target.start), target);
      return this.#restated(op.path, before, wrote, bucket, target.start);
    }
    if (!this.#insertOwn(target, op)) return null;
    refresh(target);
    for (const ancestor of chain) ancestor.view = STALE;
    return op.path;
  }

  // What a follower must be told after a late op landed in the bucket at `root`: nothing if
  // the op changed nothing there; the parent's whole value if the bucket now writes, where it
  // wrote nothing before (the parent became an object); else the bucket's.
  #restated(root: Segments, before: { value: Slot; armed: readonly Armed[] }, wrote: boolean, bucket: Bucket, start: Slot): Restated {
    const writes = bucket.writes();
    if (writes !== wrote && root.length > 1) return root.slice(0, -1);
    if (writes === wrote && unchanged(before, bucket.current(start))) return null;
    return root;
  }

  // The op is wiped by a later own op of the last node of `chain`, but it still made that node
  // an object at its stamp, which a later incr/append there must see. Returns whether that
  // node's record changed.
  #touch(chain: TreeNode[], op: Op): boolean {
    const node = chain[chain.length - 1]!;
    if (node.touch !== undefined && isAfter(node.touch.stamp, op.stamp)) return false;
    node.touch = op;
    refresh(node);
    for (const ancestor of chain) ancestor.view = STALE;
    return true;
  }

  /** Inserts an own op in stamp order; false when a later set/delete here already wipes it. */
  #insertOwn(target: TreeNode, op: Op): boolean {
    const index = insertionIndex(target.ops, op.stamp);
    if (overwritesFrom(target.ops, index)) return false;
    target.insertOp(index, op);
    // Whether it is the last own op now (dropping the ops before it below keeps the order).
    const last = index === target.ops.length - 1;
    if (isOverwrite(op.kind)) {
      target.dropFirstOps(index);
      target.base = NO_BASE;
      if (target.touch !== undefined && isAfter(op.stamp, target.touch.stamp)) target.touch = undefined;
    }
    if (last && target.kids !== undefined) {
      // Whatever was written below before it is wiped; what did made this node an object.
      const wiped = pruneKidsOlder(target, op.stamp);
      if (!isOverwrite(op.kind)) target.touch = laterOp(target.touch, wiped);
      recompute(target);
    }
    return true;
  }

  /**
   * Folds everything stamped at or below `horizon` into bases, dropping the op records, and
   * collapses subtrees that hold nothing newer into their parent's base; fires the expiries due
   * by the horizon's time for good. Only safe when every replica has applied every op at or
   * below `horizon` (see `computeHorizon`). Returns, per origin, the highest seq folded away.
   */
  collect(horizon: Stamp): FoldedSeqs {
    this.#changes.changed();
    this.#madeAtCollect = this.#nodesMade;
    const folded = collectTree(this.root, horizon, this.#time, this.#schedule);
    this.#schedule.collected();
    return folded;
  }

  /** Every op record held (live own ops and touches), for deltas and snapshots. */
  *ops(): Generator<Op> {
    const stack: TreeNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.bucket !== undefined) yield* node.bucket.records;
      yield* node.ops;
      if (node.touch !== undefined) yield node.touch;
      if (node.kids !== undefined) for (const key in node.kids) stack.push(node.kids[key]!);
    }
  }

  /** Counts nodes and op records: what GC is meant to keep small. */
  metadata(): TreeMetadata {
    return treeMetadata(this.root);
  }

  /** When the next armed expiry comes due (ms), if any. */
  nextDue(): number | undefined {
    return this.#schedule.nextDue();
  }

  /** Takes the armed expiries due by `time` off the schedule (each once): for watchers, a timer. */
  takeDue(time: number): Due[] {
    this.#changes.changed();
    return this.#schedule.takeDue(time);
  }

  /**
   * The whole state at `path` for a follower (see Exported). `overTurns`: the value is to be
   * encoded as JSON text over several turns (a snapshot in parts), so parents GC folds into in
   * place come as readings of them (see BaseReading), not copies; only `JSON.stringify` and
   * `jsonSlices` can encode those.
   */
  export(path: Segments, overTurns = false): Exported {
    const underObject = this.holdsObject(path.slice(0, -1));
    const found = this.#bucketOn(path);
    if (found !== undefined) {
      const state = found.node.bucket!.current(found.node.start);
      const relative = path.slice(found.depth);
      const armed: Armed[] = [];
      for (const entry of state.armed) {
        if (isPrefixOf(relative, entry.path)) armed.push({ path: entry.path.slice(relative.length), at: entry.at });
      }
      return { value: valueIn(state.value, relative), armed, underObject, armedFolded: [], readings: undefined };
    }
    const armed: Armed[] = [];
    const armedFolded: FoldedArmed[] = [];
    const below = this.#nodeAt(path);
    if (below === undefined) return { value: this.get(path), armed, underObject, armedFolded, readings: undefined };
    const readings = overTurns ? new SnapshotReadings() : undefined;
    armedBelow(below, [], armed, overTurns ? armedFolded : undefined, readings);
    // Read without firing anything: the follower fires by its own clock.
    return { value: unmasked(below, readings), armed, underObject, armedFolded, readings };
  }

  #nodeAt(path: Segments): TreeNode | undefined {
    let node: TreeNode | undefined = this.root;
    for (let depth = 0; depth < path.length; depth++) {
      node = this.#kidAt(node, path, depth);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** The latest stamp applied, if any. */
  latest(): Stamp | undefined {
    return this.#latest;
  }

  /**
   * A tree holding `value`, as if written at or before `latest`, with no metadata, and the
   * expiries `armed` in it (whole paths).
   */
  static fromValue(value: JsonValue, latest: Stamp, armed: readonly Due[] = [], clock?: ExpiryClock): ReplicatedTree {
    const tree = new ReplicatedTree(clock);
    tree.root.base = value;
    tree.restored(latest);
    // Outer paths first: an expiry inside another one's subtree joins its bucket.
    for (const due of [...armed].sort((a, b) => a.path.length - b.path.length)) {
      const { node, depth } = tree.#bucketFor(due.path, tree.#bucketOn(due.path));
      const bucket = node.bucket!;
      const state = bucket.current(node.start);
      bucket.rebase({ value: state.value, armed: [...state.armed, { path: pathBelow(due.path, depth), at: due.at }] });
      // Known by the node whose bucket arms it, as `track` does: GC folding that node away drops it.
      tree.#schedule.add({ at: due.at, path: due.path, by: armedBy(node) });
    }
    return tree;
  }

  /**
   * Takes over the nodes of `other` (a tree built from a snapshot, or restamped), which is
   * not to be used after: what this tree held is dropped; its read time and schedule stay
   * its own, and its views are rebuilt (see `restored`).
   */
  takeOver(other: ReplicatedTree): void {
    const root = this.root;
    const source = other.root;
    root.ops = source.ops;
    root.base = source.base;
    root.touch = source.touch;
    root.kids = source.kids;
    root.kidCount = source.kidCount;
    root.folded = source.folded;
    this.restored(other.latest());
  }

  /** Rebuilds derived state after the root was filled from a snapshot. */
  restored(latest: Stamp | undefined): void {
    this.#changes.changed();
    this.#latest = latest;
    if (latest !== undefined) this.#time.saw(latest.wall);
    recompute(this.root);
    this.#schedule.restart();
  }
}
