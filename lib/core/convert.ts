import { Bucket } from './bucket.js';
import { compareStamps } from './clock.js';
import type { Armed } from './expiry.js';
import { NO_BASE, STALE, project, shareBase, type Slot, type TreeNode } from './node.js';
import type { Op } from './op.js';
import type { Segments } from './path.js';
import { withValueIn } from './subtree.js';

// A subtree of the trie turned into a bucket (core/bucket.ts), where an expiry is about to be
// armed: the tree keeps a subtree that holds expiries as the specification states it.

/**
 * Turns the subtree at `node` (at `depth`) into a bucket: it is about to hold an expiry. What
 * GC folded there becomes the bucket's base, every op record in it the bucket's records.
 * Returns the expiries of kids that were folded with them (paths relative to `node`): their
 * schedule entries stood for the node's table of them, which is gone, so the caller schedules
 * them again (the entries of kids that held buckets find their expiries in this one).
 */
export function convertToBucket(node: TreeNode, depth: number): Armed[] {
  const records: Op[] = [];
  const armed: Armed[] = [];
  const unfolded: Armed[] = [];
  const folded = flatten(node, [], node.start, records, armed, unfolded);
  records.sort((a, b) => compareStamps(a.stamp, b.stamp));
  node.dropOps();
  node.touch = undefined;
  node.base = NO_BASE;
  node.dropKids();
  node.own = node.start;
  node.view = STALE;
  const value = folded === undefined ? node.start : folded;
  // No records: the bucket's shared empty list, so that its first op makes a list of one (a
  // fresh empty one would grow room for 16 at its first push, kept as long as the op is).
  node.bucket = new Bucket(depth, folded === undefined && armed.length === 0 ? undefined : { value, armed }, records.length === 0 ? undefined : records, folded !== undefined);
  return unfolded;
}

// What GC folded in the subtree at `node`: its value before any live record, or undefined
// where nothing was folded (it is then `start`). Collects its records and armed expiries
// (paths relative to the new root) on the way; those of kids folded with them also in `unfolded`.
function flatten(node: TreeNode, relative: Segments, start: Slot, records: Op[], armed: Armed[], unfolded: Armed[]): Slot | undefined {
  if (node.bucket !== undefined) {
    const bucket = node.bucket;
    for (const op of bucket.records) records.push(op);
    if (bucket.base === undefined) return undefined;
    for (const entry of bucket.base.armed) armed.push({ path: [...relative, ...entry.path], at: entry.at });
    return bucket.baseWrites ? bucket.base.value : undefined;
  }
  for (const op of node.ops) records.push(op);
  if (node.touch !== undefined) records.push(node.touch);
  const base = shareBase(node);
  let folded = base !== NO_BASE ? base : undefined;
  if (node.folded !== undefined) {
    for (const [key, at] of node.folded) {
      const entry = { path: [...relative, key], at };
      armed.push(entry);
      unfolded.push(entry);
    }
  }
  // With live own ops, kids hold only later records (their folded content was wiped).
  const own = node.ops.length > 0 || node.touch !== undefined;
  for (const [key, kid] of node.kidEntries()) {
    const value = folded === undefined ? start : folded;
    const kidFolded = flatten(kid, [...relative, key], project(value, key), records, armed, unfolded);
    // A folded write below made this node an object, whatever it holds there now.
    if (!own && kidFolded !== undefined) folded = withValueIn(value, [key], kidFolded);
  }
  return folded;
}
