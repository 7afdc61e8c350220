import type { Slot } from '../core/node.js';
import type { Op } from '../core/op.js';
import { isPrefixOf, type Segments } from '../core/path.js';
import { applyIn, valueIn } from '../core/subtree.js';

/** What the overlay needs of a pending write. */
export type ReplayedWrite = Pick<Op, 'kind' | 'path' | 'value'>;

/**
 * What a member reads while some of its own writes are still on their way to the hub: the
 * confirmed value, with the pending writes replayed on top, in the order they were made (the
 * hub will order them after everything the member has seen, so this is a state the hub can
 * reach). Pure: frozen values in, frozen values out, nothing shared is modified.
 *
 * `read(path)` gives the confirmed value at a path. Pending writes above `path` are replayed
 * from the highest one down, since a set, incr or append there replaces `path` too.
 */
export function overlay(read: (path: Segments) => Slot, path: Segments, pending: Iterable<ReplayedWrite>): Slot {
  let top = path.length;
  const relevant: ReplayedWrite[] = [];
  // `pending` may hand out one object filled again at each step (see PendingWrites): what is
  // kept is copied, and only that.
  for (const op of pending) {
    // A pending `ttl` changes no value: what it will hide, the hub's stream hides.
    if (op.kind === 'ttl') continue;
    if (isPrefixOf(op.path, path)) {
      relevant.push({ kind: op.kind, path: op.path, value: op.value });
      if (op.path.length < top) top = op.path.length;
    } else if (isPrefixOf(path, op.path)) relevant.push({ kind: op.kind, path: op.path, value: op.value });
  }
  if (relevant.length === 0) return read(path);
  const base = path.slice(0, top);
  let value = read(base);
  for (const op of relevant) value = applyIn(value, op.path.slice(top), op);
  return valueIn(value, path, top);
}
