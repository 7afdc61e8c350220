import { compareStamps } from './clock.js';
import { Bucket } from './bucket.js';
import { decodeExpireAt, decodeOp, encodeOp, isRecord, malformed, storedValue, type DecodeLimits, type WireOp } from './codec.js';
import type { Armed, ExpiryState } from './expiry.js';
import { KeyTimes } from './key-times.js';
import { LazyList } from './lazy-list.js';
import type { SnapshotReadings } from './live-readings.js';
import { ABSENT, NO_BASE, TreeNode, readBase, readFolded, type Slot } from './node.js';
import type { Op } from './op.js';
import { adoptPath, isAllowedKey } from './path.js';
import { isPlainObject, type JsonValue } from './value.js';

// The plain-JSON form of a replicated tree (a replica snapshot's `tree`), and its decoder: every
// field checked as core/codec.ts checks ops, since a snapshot comes from another process, a
// machine, Redis or disk.

// Most expiries one subtree of a snapshot may arm: a bound on what a peer can make this hub hold.
const MAX_ARMED = 5_000_000;

/**
 * A node of a tree snapshot: base (`b`, or `a: 1` for an absent base), ops, touch, kids, and
 * the expiries of kids folded into the base (`f`: [key, time][], see TreeNode.folded); or, for
 * a subtree with expiries (`e`), its ops (`r`) and what was folded (`s`: a value as `b`/`a`, and
 * the expiries armed in it, `m`: [relative path, time][]).
 */
export interface NodeSnapshot {
  b?: JsonValue;
  a?: 1;
  o?: WireOp[];
  t?: WireOp;
  k?: [string, NodeSnapshot][];
  f?: [string, number][];
  e?: { r?: WireOp[]; s?: { b?: JsonValue; a?: 1; m?: [string[], number][]; w?: 1 } };
}

/** The snapshot form of a subtree; readings of parents read in place are taken into `readings`. */
export function encodeNode(node: TreeNode, readings?: SnapshotReadings): NodeSnapshot {
  const snapshot: NodeSnapshot = {};
  if (node.bucket !== undefined) {
    const { records, base } = node.bucket;
    const e: NonNullable<NodeSnapshot['e']> = {};
    if (records.length > 0) e.r = records.map(encodeOp);
    if (base !== undefined) {
      e.s = base.value === ABSENT ? { a: 1 } : { b: base.value };
      if (base.armed.length > 0) e.s.m = base.armed.map((entry) => [entry.path as string[], entry.at]);
      if (node.bucket.baseWrites) e.s.w = 1;
    }
    snapshot.e = e;
    return snapshot;
  }
  // A snapshot is sent a slice at a time, over many turns: it reads the base as it is now.
  const base = readBase(node, undefined, readings);
  if (base === ABSENT) snapshot.a = 1;
  else if (base !== NO_BASE) snapshot.b = base;
  if (node.ops.length > 0) snapshot.o = Array.from(node.ops, encodeOp);
  if (node.touch !== undefined) snapshot.t = encodeOp(node.touch);
  if (node.kids !== undefined) snapshot.k = node.kidEntries().map(([key, kid]) => [key, encodeNode(kid, readings)]);
  if (node.folded !== undefined) {
    // Read lazily, as the base is, where there may be a million (LazyList: JSON text only).
    const times = readFolded(node, readings);
    snapshot.f = Array.isArray(times) ? (times as [string, number][]) : (new LazyList([() => times]) as unknown as [string, number][]);
  }
  return snapshot;
}

/**
 * Validates a subtree snapshot into `node` (whose derived values the caller recomputes).
 * `path` is the node's path, to check that every op sits where it claims to.
 */
export function decodeNodeInto(node: TreeNode, input: unknown, path: string[], limits: DecodeLimits, ops: Op[]): void {
  if (!isRecord(input)) throw malformed('snapshot node');
  if (path.length > limits.maxDepth) throw malformed('snapshot depth');
  if (input.e !== undefined) {
    if (path.length === 0 || ['b', 'a', 'o', 't', 'k', 'f'].some((field) => field in input)) throw malformed('snapshot bucket');
    node.bucket = decodeBucket(input.e, path, limits, ops);
    return;
  }
  if (input.a === 1) node.base = ABSENT;
  else if ('b' in input) node.base = storedValue(input.b, path.join('.') || '(root)', Infinity, limits) as Slot;
  const where = (op: Op): Op => {
    if (op.path.length !== path.length || op.path.some((key, i) => key !== path[i])) throw malformed('snapshot op path');
    ops.push(op);
    return op;
  };
  if (input.o !== undefined) {
    if (!Array.isArray(input.o)) throw malformed('snapshot ops');
    // Sorted here rather than trusted: every fold assumes stamp order.
    node.ops = input.o.map((op) => where(decodeOp(op, limits))).sort((a, b) => compareStamps(a.stamp, b.stamp));
  }
  if (input.t !== undefined) {
    const touch = decodeOp(input.t, limits);
    ops.push(touch);
    node.touch = touch;
  }
  if (input.k !== undefined) {
    if (!Array.isArray(input.k)) throw malformed('snapshot kids');
    for (const entry of input.k) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw malformed('snapshot kid');
      const key = entry[0];
      if (key.length === 0 || !isAllowedKey(key) || node.kid(key) !== undefined) throw malformed('snapshot key');
      const kid = new TreeNode(ABSENT);
      decodeNodeInto(kid, entry[1], [...path, key], limits, ops);
      node.addKid(key, kid);
    }
  }
  if (input.f !== undefined) {
    // Each a key of the base (an object), no kid beside it, and no own op that would wipe it.
    const base = node.base;
    if (!Array.isArray(input.f) || input.f.length === 0 || node.ops.length > 0 || !isPlainObject(base)) throw malformed('snapshot folded expiries');
    const folded = new KeyTimes();
    for (const entry of input.f) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw malformed('snapshot folded expiry');
      const key = entry[0];
      if (!isAllowedKey(key) || !Object.hasOwn(base, key) || node.kid(key) !== undefined || folded.has(key)) throw malformed('snapshot folded expiry key');
      folded.set(key, decodeExpireAt(entry[1]));
    }
    node.folded = folded;
  }
}

function decodeBucket(input: unknown, path: string[], limits: DecodeLimits, ops: Op[]): Bucket {
  if (!isRecord(input)) throw malformed('snapshot bucket');
  const records: Op[] = [];
  if (input.r !== undefined) {
    if (!Array.isArray(input.r)) throw malformed('snapshot bucket ops');
    for (const raw of input.r) {
      const op = decodeOp(raw, limits);
      if (op.path.length < path.length || path.some((key, i) => op.path[i] !== key)) throw malformed('snapshot bucket op path');
      records.push(op);
      ops.push(op);
    }
    records.sort((a, b) => compareStamps(a.stamp, b.stamp));
  }
  let base: ExpiryState | undefined;
  if (input.s !== undefined) {
    const state = input.s;
    if (!isRecord(state)) throw malformed('snapshot bucket state');
    const value: Slot = state.a === 1 ? ABSENT : 'b' in state ? (storedValue(state.b, path, Infinity, limits) as Slot) : malformed('snapshot bucket value') as never;
    const armed: Armed[] = [];
    if (state.m !== undefined) {
      if (!Array.isArray(state.m) || state.m.length > MAX_ARMED) throw malformed('snapshot bucket expiries');
      for (const entry of state.m) {
        if (!Array.isArray(entry) || entry.length !== 2) throw malformed('snapshot bucket expiry');
        const relative = adoptPath(entry[0], limits.maxDepth - path.length, true);
        armed.push({ path: relative, at: decodeExpireAt(entry[1]) });
      }
    }
    if (state.w !== undefined && state.w !== 1) throw malformed('snapshot bucket flag');
    base = { value, armed };
    return new Bucket(path.length, base, records, state.w === 1);
  }
  return new Bucket(path.length, base, records);
}
