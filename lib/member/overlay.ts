import { ABSENT, applyOp, project, type Slot } from '../core/node.js';
import type { Op } from '../core/op.js';
import { isPrefixOf, type Segments } from '../core/path.js';
import { isPlainObject, type JsonValue } from '../core/value.js';

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
  for (const op of pending) {
    if (isPrefixOf(op.path, path)) {
      relevant.push(op);
      if (op.path.length < top) top = op.path.length;
    } else if (isPrefixOf(path, op.path)) relevant.push(op);
  }
  if (relevant.length === 0) return read(path);
  const base = path.slice(0, top);
  let value = read(base);
  for (const op of relevant) value = updateIn(value, op.path.slice(top), op);
  return getIn(value, path.slice(top));
}

/** `op` applied at `relative` inside `value`: parents become objects as the semantics say. */
function updateIn(value: Slot, relative: Segments, op: ReplayedWrite): Slot {
  if (relative.length === 0) return applyOp(value, op);
  const [key, ...rest] = relative as [string, ...string[]];
  const copy: Record<string, JsonValue> = isPlainObject(value) ? { ...value } : {};
  const updated = updateIn(project(value, key), rest, op);
  if (updated === ABSENT) delete copy[key];
  else copy[key] = updated;
  return Object.freeze(copy);
}

function getIn(value: Slot, relative: Segments): Slot {
  let current: unknown = value;
  for (const key of relative) {
    if (typeof current !== 'object' || current === null) return ABSENT;
    if (Array.isArray(current) ? key === 'length' || !Object.hasOwn(current, key) : !Object.hasOwn(current, key)) return ABSENT;
    current = (current as Record<string, unknown>)[key];
  }
  return current as Slot;
}
