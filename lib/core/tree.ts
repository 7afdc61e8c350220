import { isAfter, type Stamp } from './clock.js';
import {
  ABSENT,
  EMPTY_OBJECT,
  NO_BASE,
  STALE,
  TreeNode,
  applyOp,
  asObject,
  foldOwn,
  latestBelow,
  laterOp,
  project,
  pruneOlder,
  recompute,
  refresh,
  replay,
  viewOf,
  type Slot,
} from './node.js';
import type { Op } from './op.js';
import type { Segments } from './path.js';
import type { JsonValue } from './value.js';

/**
 * How many writes a replica takes between folds of what it may fold at once (a hub alone, a
 * member applying its hub's stream): a fold copies each parent object it folds into, and
 * spacing folds by at least the width of such a parent keeps that cost amortized O(1) a write.
 */
export const FOLD_EVERY = 10_000;

/** How much bookkeeping the tree holds beyond the data itself. */
export interface TreeMetadata {
  /** Nodes that carry ops, a base or kids (the root counts). */
  nodes: number;
  /** Op records held: live own ops and touches. */
  ops: number;
}

/**
 * How an applied op changed a tree, for a follower that applies changes in arrival order (a
 * hub's members): `undefined`, the op itself says it (it came after everything held); a path,
 * the whole value there changed (an op that came late, placed among later ones); `null`,
 * nothing changed (a later write wipes it).
 */
export type Restated = Segments | null | undefined;

function isOverwrite(op: Op): boolean {
  return op.kind === 'set' || op.kind === 'delete';
}

/**
 * The replicated tree: applies ops in any order, with the result always equal to replaying
 * every op received, sorted by stamp, on an empty tree (DESIGN.md section 3).
 */
export class ReplicatedTree {
  readonly root: TreeNode = new TreeNode(EMPTY_OBJECT);
  #latest: Stamp | undefined;

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
    if (depth === path.length) return viewOf(node);
    // The rest of the path is not overlaid by any later write: it lies in this node's own value.
    let value: unknown = node.own;
    for (; depth < path.length; depth++) {
      if (typeof value !== 'object' || value === null) return ABSENT;
      const key = path[depth]!;
      if (key === 'length' && Array.isArray(value)) return ABSENT; // own, but not an element
      value = (value as Record<string, unknown>)[key];
      // Stored values never hold functions or undefined, so either means the key is not an
      // own property (an inherited method such as `toString`): one lookup instead of hasOwn.
      if (value === undefined || typeof value === 'function') return ABSENT;
    }
    return value as Slot;
  }

  /** The whole tree as one frozen object. */
  getAll(): JsonValue {
    return viewOf(this.root) as JsonValue;
  }

  /**
   * Applies one op. Idempotence is the caller's job (the replica drops duplicates by seq).
   *
   * Returns what a follower that applies this tree's changes in arrival order must do to stay
   * equal to it (see Restated): `undefined` when the op is later than everything held (it is
   * its own description); otherwise the path whose whole value the op changed (the op's own,
   * or an ancestor's it turned into an object), or `null` when a later write wipes its effect.
   */
  apply(op: Op): Restated {
    if (this.#latest === undefined || isAfter(op.stamp, this.#latest)) {
      this.#applyLatest(op);
      this.#latest = op.stamp;
      return undefined;
    }
    return this.#applyLate(op);
  }

  #kid(node: TreeNode, key: string): TreeNode {
    let kid = node.kid(key);
    if (kid === undefined) {
      kid = new TreeNode(project(node.own, key));
      node.addKid(key, kid);
    }
    return kid;
  }

  // The node at `path`, created if missing, with every view on the way marked stale.
  #reach(path: Segments): TreeNode {
    let node = this.root;
    for (const key of path) {
      node.view = STALE;
      node = this.#kid(node, key);
    }
    node.view = STALE;
    return node;
  }

  // The common case, every local write of a hub: the op is later than everything held, so it
  // wipes whatever is below its path and nothing above it can wipe it. O(depth).
  #applyLatest(op: Op): void {
    const node = this.#reach(op.path);
    if (isOverwrite(op)) {
      node.replaceOps(op);
      node.base = NO_BASE;
      node.touch = undefined;
      node.own = applyOp(node.own, op);
    } else {
      let before = node.own;
      if (node.kids !== undefined) {
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
   * ever be ordered before it (a member applying its hub's ordered stream). Its effect is
   * folded in at once, keeping no record of it: O(depth), and nothing for the GC to keep.
   */
  applyFinal(kind: Op['kind'], path: Segments, value: JsonValue | undefined): void {
    const node = this.#reach(path);
    const before = node.kids !== undefined && kind !== 'set' && kind !== 'delete' ? EMPTY_OBJECT : node.own;
    node.own = applyOp(before, { kind, value });
    node.base = node.own;
    node.dropOps();
    node.touch = undefined;
    node.dropKids();
  }

  /** Records that everything applied so far is at or before `stamp` (after `applyFinal`). */
  advanceTo(stamp: Stamp): void {
    if (this.#latest === undefined || isAfter(stamp, this.#latest)) this.#latest = stamp;
  }

  // An op older than something already held: find what wipes it, or what it wipes, and
  // recompute only the subtree it can change.
  #applyLate(op: Op): Restated {
    const chain: TreeNode[] = [this.root];
    let node = this.root;
    for (let depth = 0; depth < op.path.length; depth++) {
      const kid = node.kid(op.path[depth]!);
      if (kid === undefined) break;
      chain.push(kid);
      node = kid;
      const last = kid.lastOwnOp();
      if (depth < op.path.length - 1 && last !== undefined && isAfter(last.stamp, op.stamp)) {
        return this.#touch(chain, op) ? op.path.slice(0, depth + 1) : null;
      }
    }
    for (let depth = chain.length - 1; depth < op.path.length; depth++) {
      node = this.#kid(node, op.path[depth]!);
      chain.push(node);
    }
    const target = chain[chain.length - 1]!;
    if (!this.#insertOwn(target, op)) return null;
    refresh(target);
    for (const ancestor of chain) ancestor.view = STALE;
    return op.path;
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
    let index = target.ops.length;
    while (index > 0 && isAfter(target.ops[index - 1]!.stamp, op.stamp)) index--;
    for (let later = index; later < target.ops.length; later++) if (isOverwrite(target.ops[later]!)) return false;
    target.insertOp(index, op);
    if (isOverwrite(op)) {
      target.takeOps(index);
      target.base = NO_BASE;
      if (target.touch !== undefined && isAfter(op.stamp, target.touch.stamp)) target.touch = undefined;
    }
    if (op === target.lastOwnOp() && target.kids !== undefined) {
      const wiped = pruneOlder(target, op.stamp);
      if (!isOverwrite(op)) target.touch = laterOp(target.touch, wiped);
      if (target.kids !== undefined) recompute(target);
    }
    return true;
  }

  /**
   * Folds everything stamped at or below `horizon` into bases, dropping the op records, and
   * collapses subtrees that hold nothing newer into their parent's base. Only safe when every
   * replica has applied every op at or below `horizon` (see `computeHorizon`).
   * Returns the ops folded away.
   */
  collect(horizon: Stamp): Op[] {
    const folded: Op[] = [];
    this.#collectNode(this.root, horizon, folded);
    return folded;
  }

  // Returns whether the subtree holds anything at or below the horizon (before folding).
  #collectNode(node: TreeNode, horizon: Stamp, folded: Op[]): boolean {
    let count = 0;
    while (count < node.ops.length && !isAfter(node.ops[count]!.stamp, horizon)) count++;
    const touchOld = node.touch !== undefined && !isAfter(node.touch.stamp, horizon);
    let hadOld = count > 0 || touchOld || node.base !== NO_BASE;
    if (count > 0 || touchOld) {
      const start = node.base !== NO_BASE ? node.base : node.start;
      node.base = replay(start, node.ops, count, touchOld ? node.touch!.stamp : undefined);
      // A loop, not a spread: a hot node can hold more records than a call takes arguments.
      for (const op of node.takeOps(count)) folded.push(op);
      if (touchOld) {
        folded.push(node.touch!);
        node.touch = undefined;
      }
    }
    // Kids only hold ops later than every own op, so with own ops left there is nothing to fold.
    if (node.ops.length === 0 && node.kids !== undefined) {
      const collapsed: [string, Slot][] = [];
      let kidsOld = false;
      for (const [key, kid] of node.kidEntries()) {
        kidsOld = this.#collectNode(kid, horizon, folded) || kidsOld;
        if (kid.ops.length === 0 && kid.touch === undefined && kid.kids === undefined) {
          collapsed.push([key, viewOf(kid)]);
          node.removeKid(key);
        }
      }
      if (kidsOld) {
        hadOld = true;
        const current = asObject(node.base !== NO_BASE ? node.base : node.start);
        const merged: Record<string, JsonValue> = { ...(current as Record<string, JsonValue>) };
        for (const [key, value] of collapsed) {
          if (value === ABSENT) delete merged[key];
          else merged[key] = value;
        }
        node.base = Object.freeze(merged);
      }
    }
    if (hadOld) {
      node.own = foldOwn(node);
      node.view = STALE;
    }
    return hadOld;
  }

  /** Every op record held (live own ops and touches), for deltas and snapshots. */
  *ops(): Generator<Op> {
    const stack: TreeNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      yield* node.ops;
      if (node.touch !== undefined) yield node.touch;
      if (node.kids !== undefined) for (const key in node.kids) stack.push(node.kids[key]!);
    }
  }

  /** Counts nodes and op records: what GC is meant to keep small. */
  metadata(): TreeMetadata {
    let nodes = 0;
    let ops = 0;
    const stack: TreeNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      nodes++;
      ops += node.ops.length + (node.touch === undefined ? 0 : 1);
      if (node.kids !== undefined) for (const key in node.kids) stack.push(node.kids[key]!);
    }
    return { nodes, ops };
  }

  /** The latest stamp applied, if any. */
  latest(): Stamp | undefined {
    return this.#latest;
  }

  /** A tree holding `value`, as if written at or before `latest`, with no metadata. */
  static fromValue(value: JsonValue, latest: Stamp): ReplicatedTree {
    const tree = new ReplicatedTree();
    tree.root.base = value;
    tree.restored(latest);
    return tree;
  }

  /** Rebuilds derived state after the root was filled from a snapshot. */
  restored(latest: Stamp | undefined): void {
    this.#latest = latest;
    recompute(this.root);
  }
}

