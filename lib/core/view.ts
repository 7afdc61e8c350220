import { ABSENT, STALE, kidsWrite, shareBase, type Slot, type TreeNode } from './node.js';
import { UNTIMED, type ReadTime } from './read-time.js';
import { isPlainObject, type JsonValue } from './value.js';

// The cached views of the tree's nodes (TreeNode.view): a subtree's value as one frozen object,
// built from a node's own value and its kids', checked against the time where an expiry is in it.

/**
 * The frozen materialized value of a subtree, rebuilt only where a write made it stale, or
 * where an expiry inside came due (the time is read only where one is armed).
 */
export function viewOf(node: TreeNode, time: ReadTime): Slot {
  // Small enough for V8 to inline into every read: the cached view, while it holds. A timed
  // one holds while its epoch is current, within a run (see ReadTime).
  const view = node.view;
  const epoch = node.viewEpoch;
  if (view !== STALE && (epoch === UNTIMED || epoch === time.holdingEpoch)) return view;
  return rebuildView(node, time);
}

// The view of a subtree checked against the time (a timed one, in a new epoch or outside a
// run), or rebuilt: a write below made it stale, or an expiry inside came due.
function rebuildView(node: TreeNode, time: ReadTime): Slot {
  // The time is read once, and only where something is armed: a timed view (viewOf passes on a
  // view that is not stale only when it is timed), a bucket, kids folded with their expiries.
  const now = node.view !== STALE || node.bucket !== undefined || node.folded !== undefined ? time.now() : Number.NaN;
  if (node.view !== STALE && now < node.viewUntil) {
    node.viewEpoch = time.holds(node.viewUntil);
    return node.view;
  }
  if (node.bucket !== undefined) {
    const state = node.bucket.at(now, node.start);
    return settleView(node, state.value, node.bucket.nextChange(now, node.start), time);
  }
  let value = node.own;
  let until = Number.POSITIVE_INFINITY;
  if (node.folded !== undefined) {
    let expired: string[] | undefined;
    for (const [key, at] of node.folded) {
      if (at <= now) (expired ??= []).push(key);
      else if (at < until) until = at;
    }
    if (expired !== undefined) {
      const kept: Record<string, JsonValue> = { ...(value as Record<string, JsonValue>) };
      for (const key of expired) delete kept[key];
      value = Object.freeze(kept);
    }
  }
  value = overlayKids(node, value, (kid) => {
    const kidValue = viewOf(kid, time);
    if (kid.viewUntil < until) until = kid.viewUntil;
    return kidValue;
  });
  // The view is the base itself (no kid, nothing expired): it leaves the node now.
  if (value === node.foldBase) shareBase(node);
  return settleView(node, value, until, time);
}

// Caches `value` as the view of `node` until `until` (Infinity: until a write below), a timed
// one stamped as found holding now.
function settleView(node: TreeNode, value: Slot, until: number, time: ReadTime): Slot {
  node.view = value;
  node.viewUntil = until;
  node.viewEpoch = until === Number.POSITIVE_INFINITY ? UNTIMED : time.holds(until);
  return value;
}

/**
 * `own` (a node's own value) overlaid with the value `valueOf` gives each of its kids (ABSENT
 * removes the key), frozen; `own` itself when the node has no kid. Anything written below a
 * value makes it an object.
 */
export function overlayKids(node: TreeNode, own: Slot, valueOf: (kid: TreeNode) => Slot): Slot {
  if (node.kids === undefined || !(isPlainObject(own) || kidsWrite(node))) return own;
  const merged: Record<string, JsonValue> = isPlainObject(own) ? { ...own } : {};
  for (const key in node.kids) {
    const kidValue = valueOf(node.kids[key]!);
    if (kidValue === ABSENT) delete merged[key];
    else merged[key] = kidValue;
  }
  return Object.freeze(merged);
}
