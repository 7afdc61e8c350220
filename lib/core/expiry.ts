import { ABSENT, type Slot } from './slot.js';
import type { Op } from './op.js';
import { isPrefixOf, samePath, type Segments } from './path.js';
import { applyIn, withValueIn, withoutKeyIn } from './subtree.js';

/**
 * The expiry rule (DESIGN.md section 7) on a subtree held as a plain value: the state is the
 * value and the expiries armed in it; ops and time move it, exactly as the specification's
 * sorted replay does: before each op, and finally at "now", every armed expiry whose time has
 * come deletes its subtree.
 */

/** An expiry armed at `path` (relative to the subtree's root), due at `at` (ms, wall clock). */
export interface Armed {
  readonly path: Segments;
  readonly at: number;
}

/** A subtree under the expiry rule: its value and the expiries armed in it. */
export interface ExpiryState {
  readonly value: Slot;
  readonly armed: readonly Armed[];
}

const NONE: readonly Armed[] = Object.freeze([]) as readonly Armed[];

/** A state with nothing armed. */
export function unarmed(value: Slot): ExpiryState {
  return { value, armed: NONE };
}

/** The first expiry due at or before `time`, if any. */
function firstDue(armed: readonly Armed[], time: number): Armed | undefined {
  let first: Armed | undefined;
  for (const entry of armed) if (entry.at <= time && (first === undefined || entry.at < first.at)) first = entry;
  return first;
}

/**
 * Fires every expiry due at or before `time`, earliest first. An expiry deletes its subtree
 * and every expiry armed in it.
 */
export function fireDue(state: ExpiryState, time: number): ExpiryState {
  let current = state;
  for (let due = firstDue(current.armed, time); due !== undefined; due = firstDue(current.armed, time)) {
    const path = due.path;
    current = { value: withoutKeyIn(current.value, path), armed: current.armed.filter((entry) => !isPrefixOf(path, entry.path)) };
  }
  return current;
}

/** The earliest expiry armed, if any. */
export function nextDue(state: ExpiryState): number | undefined {
  let next: number | undefined;
  for (const entry of state.armed) if (next === undefined || entry.at < next) next = entry.at;
  return next;
}

/**
 * Applies `op` at `relative` (its path inside the subtree) to a state in which everything due
 * before it has fired (see `fireDue`).
 */
export function applyWithExpiry(state: ExpiryState, relative: Segments, op: Op): ExpiryState {
  const { value, armed } = state;
  switch (op.kind) {
    case 'set': {
      // The subtree is replaced: what was armed in it goes, what is armed at it goes unless kept.
      const kept = op.keepTtl === true ? armed.find((entry) => samePath(entry.path, relative)) : undefined;
      let next = armed.filter((entry) => !isPrefixOf(relative, entry.path));
      if (op.expireAt !== undefined) next = [...next, { path: relative, at: op.expireAt }];
      else if (kept !== undefined) next = [...next, kept];
      return { value: withValueIn(value, relative, op.value as Slot), armed: freeze(next, armed) };
    }
    case 'delete':
      return { value: withValueIn(value, relative, ABSENT), armed: freeze(armed.filter((entry) => !isPrefixOf(relative, entry.path)), armed) };
    case 'incr':
    case 'append': {
      // The value there becomes a number or a list: what was armed below it goes; an expiry
      // is armed by this op only where none is.
      let next = armed.filter((entry) => !isPrefixOf(relative, entry.path) || samePath(entry.path, relative));
      if (op.expireAt !== undefined && !next.some((entry) => samePath(entry.path, relative))) next = [...next, { path: relative, at: op.expireAt }];
      return { value: applyIn(value, relative, op), armed: freeze(next, armed) };
    }
    case 'ttl': {
      // Arms (or clears) the expiry at its path, whatever is there: when it fires it deletes
      // what is there then. (Whether a value is there at its place in stamp order can depend on
      // writes that later ones wiped: no replica could tell the same way. The API checks it
      // where the op is made instead, as `cas` does.)
      const next = armed.filter((entry) => !samePath(entry.path, relative));
      if (typeof op.value === 'number') next.push({ path: relative, at: op.value });
      return { value, armed: freeze(next, armed) };
    }
  }
}

// The shared empty list where nothing is armed; the list itself otherwise (states are never mutated).
function freeze(next: Armed[], before: readonly Armed[]): readonly Armed[] {
  if (next.length === 0) return NONE;
  if (next.length === before.length && next.every((entry, i) => entry === before[i])) return before;
  return next;
}
