import type { Armed } from './expiry.js';
import type { SnapshotReadings } from './live-readings.js';
import { ABSENT, STALE, readBase, readFolded, readsInPlace, shareBase, type Slot, type TreeNode } from './node.js';
import { overlayKids } from './view.js';
import { UNTIMED } from './read-time.js';
import type { Segments } from './path.js';
import type { JsonValue } from './value.js';

// What a follower (a hub's member) is sent of a subtree: its value before any expiry fires by a
// clock, and what is armed in it (ReplicatedTree.export), built from the tree's nodes.

/** The whole state of a subtree for a follower: its value before any expiry fires by a clock, and what is armed in it. */
export interface Exported {
  value: Slot;
  /** Expiries armed at or below the path, with paths relative to it. */
  armed: Armed[];
  /**
   * Whether the path's parent holds an object (always at the top level): where `value` is
   * ABSENT, a follower makes the parents objects only then.
   */
  underObject: boolean;
  /**
   * With `overTurns` (see ReplicatedTree.export): the expiries of kids folded into parents of
   * many keys, read lazily rather than listed in `armed`, each with its parent's relative path.
   */
  armedFolded: FoldedArmed[];
  /**
   * With `overTurns`: the readings it took of structures that go on changing in place. End
   * them once it is written (each change copies what it replaces into them until then).
   */
  readings: SnapshotReadings | undefined;
}

/** The expiries of the kids a parent folded, as [key, time] pairs, below `relative`. */
export interface FoldedArmed {
  relative: Segments;
  times: Iterable<[string, number]> & { latest: number };
}

/**
 * Adds to `armed` the expiries armed at or below `node`; where `folded` is given, those of the
 * kids parents folded go there instead, read lazily (readings taken into `readings`).
 */
export function armedBelow(node: TreeNode, relative: Segments, armed: Armed[], folded: FoldedArmed[] | undefined, readings?: SnapshotReadings): void {
  if (node.bucket !== undefined) {
    for (const entry of node.bucket.current(node.start).armed) armed.push({ path: [...relative, ...entry.path], at: entry.at });
    return;
  }
  if (node.folded !== undefined) {
    if (folded !== undefined) folded.push({ relative, times: readFolded(node, readings) });
    else for (const [key, at] of node.folded) armed.push({ path: [...relative, key], at });
  }
  for (const [key, kid] of node.kidEntries()) armedBelow(kid, [...relative, key], armed, folded, readings);
}

/**
 * The value of the subtree at `node` with no expiry fired by a clock, to be sent (a member's
 * snapshot, a restated write): cached views where nothing in them expires; with `readings` (a
 * snapshot encoded over several turns), a parent GC folds into in place as a reading of it, with
 * the writes GC has not folded yet over it (neither frozen nor copied: the folds go on adding to
 * it and keep for the reading what they replace, until `readings` are ended); else a base held
 * as it is (the next fold copies it).
 */
export function unmasked(node: TreeNode, readings: SnapshotReadings | undefined): Slot {
  if (node.bucket !== undefined) return node.bucket.current(node.start).value;
  if (node.view !== STALE && node.viewEpoch === UNTIMED) return node.view;
  if (node.kids === undefined) {
    if (node.own !== node.base) return node.own;
    return readings !== undefined ? (readBase(node, undefined, readings) as Slot) : (shareBase(node, false) as Slot);
  }
  if (readings !== undefined && node.own === node.base && readsInPlace(node)) {
    const overlay = new Map<string, JsonValue | undefined>();
    for (const key in node.kids) {
      const value = unmasked(node.kids[key]!, readings);
      overlay.set(key, value === ABSENT ? undefined : value);
    }
    return readBase(node, overlay, readings) as Slot;
  }
  return overlayKids(node, node.own, (kid) => unmasked(kid, readings));
}

