import { decodeExpireAt } from '../core/codec.js';
import type { FoldedArmed } from '../core/exported.js';
import { LazyList } from '../core/lazy-list.js';
import { adoptPath } from '../core/path.js';

// Armed expiries as they travel to members ([path, time] pairs): in stream items, and in
// snapshots, where a million folded sessions' are produced as they are encoded.

/** Armed expiries as they travel to members: [path, time] pairs. */
export function encodeArmed(armed: readonly { readonly path: readonly string[]; readonly at: number }[]): [string[], number][] {
  return armed.map((entry) => [entry.path as string[], entry.at]);
}

/**
 * The same for a snapshot, with `folded` (the expiries of kids folded into parents of many keys,
 * read lazily: see ReplicatedTree.export): then a LazyList of them all, produced as it is encoded
 * (a million folded sessions are not listed in one turn), for JSON text only.
 */
export function encodeSnapshotArmed(armed: readonly { readonly path: readonly string[]; readonly at: number }[], folded: readonly FoldedArmed[]): [string[], number][] | LazyList {
  const listed = encodeArmed(armed);
  if (folded.length === 0) return listed;
  const below = ({ relative, times }: FoldedArmed) =>
    function* (): Generator<[string[], number]> {
      for (const [key, at] of times) yield [[...relative, key], at];
    };
  return new LazyList([() => listed, ...folded.map(below)]);
}

/** Checks [path, time] pairs of armed expiries: relative paths (may be empty) or whole ones. */
export function decodeArmed(input: unknown, maxDepth: number, relative: boolean): [string[], number][] {
  if (!Array.isArray(input)) throw new TypeError('malformed expiries');
  return input.map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 2) throw new TypeError('malformed expiry');
    return [adoptPath(entry[0], maxDepth, relative) as string[], decodeExpireAt(entry[1])];
  });
}
