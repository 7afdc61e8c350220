import type { Op } from './op.js';
import { isPlainObject, type JsonValue } from './value.js';

// What a path holds, and one op applied to it: the values of the replicated tree's nodes, and
// of the plain subtrees replayed beside them (core/subtree.ts, core/expiry.ts).

/** The value of a path that holds nothing (never set, or deleted). */
export const ABSENT: unique symbol = Symbol('collective.absent');

/** A value slot: a stored value, or ABSENT. */
export type Slot = JsonValue | typeof ABSENT;

/** The shared empty object: what a node becomes when a write below it turns it into an object. */
export const EMPTY_OBJECT: JsonValue = Object.freeze({});

/** The value at `key` inside `value`, if `value` is a plain object holding it. */
export function project(value: Slot, key: string): Slot {
  if (isPlainObject(value) && Object.hasOwn(value, key)) return value[key] as JsonValue;
  return ABSENT;
}

/** One op applied to the value it finds, exactly as the specification's sequential replay. */
export function applyOp(current: Slot, op: Pick<Op, 'kind' | 'value'>): Slot {
  switch (op.kind) {
    case 'set':
      return op.value as JsonValue;
    case 'delete':
      return ABSENT;
    case 'incr':
      return (typeof current === 'number' ? current : 0) + (op.value as number);
    case 'append':
      return Object.freeze(Array.isArray(current) ? [...current, op.value as JsonValue] : [op.value as JsonValue]);
    case 'ttl':
      return current;
  }
}

/** A write below a node makes it an object; its old content no longer matters to own ops. */
export function asObject(value: Slot): Slot {
  return isPlainObject(value) ? value : EMPTY_OBJECT;
}
