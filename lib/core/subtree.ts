import { ABSENT, applyOp, project, type Slot } from './slot.js';
import type { Op } from './op.js';
import type { Segments } from './path.js';
import { isPlainObject, type JsonValue } from './value.js';

// Reading and rewriting frozen JSON values at a relative path, copy-on-write, with the
// semantics of the specification: a write below a value makes every value on the way an
// object. Used where a subtree is replayed as plain values (a member's pending writes, a
// subtree with expiries).

/**
 * The value at `path` inside `value`, `path` read from index `from` on, or ABSENT. Paths are
 * validated (no `__proto__`), and stored values hold neither functions nor undefined: so a
 * lookup that finds either found no own key (an inherited method such as `toString`), one
 * lookup instead of hasOwn on every read.
 */
export function valueIn(value: Slot, path: Segments, from = 0): Slot {
  let current: unknown = value;
  for (let depth = from; depth < path.length; depth++) {
    if (typeof current !== 'object' || current === null) return ABSENT;
    const key = path[depth]!;
    if (key === 'length' && Array.isArray(current)) return ABSENT; // own, but not an element
    current = (current as Record<string, unknown>)[key];
    if (current === undefined || typeof current === 'function') return ABSENT;
  }
  return current as Slot;
}

/** `value` with `next` at `relative` (ABSENT removes the key); every value on the way becomes an object. */
export function withValueIn(value: Slot, relative: Segments, next: Slot, from = 0): Slot {
  if (from === relative.length) return next;
  const key = relative[from]!;
  const copy: Record<string, JsonValue> = isPlainObject(value) ? { ...value } : {};
  const updated = withValueIn(project(value, key), relative, next, from + 1);
  if (updated === ABSENT) delete copy[key];
  else copy[key] = updated;
  return Object.freeze(copy);
}

/** `op` (a value write: set, delete, incr or append) applied at `relative` inside `value`. */
export function applyIn(value: Slot, relative: Segments, op: Pick<Op, 'kind' | 'value'>): Slot {
  return withValueIn(value, relative, applyOp(valueIn(value, relative), op));
}

/**
 * `value` without the key at `relative`, when it is there; unchanged (no object made on the
 * way) when it is not.
 */
export function withoutKeyIn(value: Slot, relative: Segments): Slot {
  if (relative.length === 0) return ABSENT;
  if (valueIn(value, relative) === ABSENT) return value;
  return withValueIn(value, relative, ABSENT);
}
