import { CEILING_NODE, compareStamps, type NodeId, type Stamp } from './clock.js';
import { Bucket } from './bucket.js';
import type { Armed, ExpiryState } from './expiry.js';
import { KeyTimes } from './key-times.js';
import { LazyList } from './lazy-list.js';
import type { SnapshotReadings } from './live-readings.js';
import { ABSENT, NO_BASE, TreeNode, readBase, readFolded, type Slot } from './node.js';
import { OP_KIND_CODES, OP_KINDS_BY_CODE, newOp, type Op, type OpKind } from './op.js';
import { adoptPath, isAllowedKey } from './path.js';
import type { VersionVector } from './horizon.js';
import { adoptValue, isPlainObject, toStoredValue, type JsonValue, type ValuePlace } from './value.js';

/**
 * Plain-JSON forms of ops, version vectors and tree snapshots, and their decoders. Everything
 * decoded here may come from another process or machine: decoders validate every field and
 * throw a `TypeError`/`RangeError` on the first problem, before anything is applied.
 */

/**
 * An op as it travels: `{ k, p, v?, s, w, c, n, x?, q? }`; `x` its `expireAt`, `q: 1` its
 * `keepTtl`.
 */
export interface WireOp {
  k: OpKind;
  p: string[];
  v?: JsonValue;
  s: number;
  w: number;
  c: number;
  n: string;
  x?: number;
  q?: 1;
}

/** Limits applied while decoding untrusted input. */
export interface DecodeLimits {
  maxDepth: number;
  maxValueBytes: number;
  /**
   * The input is fresh from `JSON.parse` and the decoder's alone (a snapshot read back from
   * disk): values are checked and frozen in place instead of copied.
   */
  adopt?: boolean;
}

const KINDS: ReadonlySet<string> = new Set(['set', 'delete', 'incr', 'append', 'ttl']);

/** The latest expiry time accepted (ms since the epoch): year 2286, and a safe integer. */
export const MAX_EXPIRE_AT = 10_000_000_000_000;

// Most expiries one subtree of a snapshot may arm: a bound on what a peer can make this hub hold.
const MAX_ARMED = 5_000_000;
const NODE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function bad(what: string): TypeError {
  return new TypeError(`malformed ${what}`);
}

/** Whether `value` is an object that is not an array (a message, or a record inside one). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw bad(what);
  return value;
}

/** Checks a node id received from elsewhere. */
export function decodeNodeId(value: unknown): NodeId {
  if (typeof value !== 'string' || !NODE_ID.test(value)) throw bad('node id');
  return value as NodeId;
}

/** Checks a stamp received from elsewhere. */
export function decodeStamp(wall: unknown, counter: unknown, node: unknown): Stamp {
  return { wall: count(wall, 'stamp wall', 0), count: count(counter, 'stamp counter', 0), node: decodeNodeId(node) };
}

/**
 * Checks a received GC bound (a horizon or a clock's ceiling): a stamp whose node may also be
 * the ceiling's `~`.
 */
export function decodeBound(value: unknown, what: string): Stamp {
  if (!Array.isArray(value) || value.length !== 3) throw new TypeError(`malformed ${what}`);
  const [wall, counter, node] = value as unknown[];
  if (node === CEILING_NODE) return { wall: count(wall, 'stamp wall', 0), count: count(counter, 'stamp counter', 0), node: CEILING_NODE };
  return decodeStamp(wall, counter, node);
}

/** The wire form of an op. */
export function encodeOp(op: Op): WireOp {
  const wire: WireOp = { k: op.kind, p: op.path as string[], s: op.seq, w: op.stamp.wall, c: op.stamp.count, n: op.stamp.node };
  if (op.value !== undefined) wire.v = op.value;
  if (op.expireAt !== undefined) wire.x = op.expireAt;
  if (op.keepTtl === true) wire.q = 1;
  return wire;
}

/** Validates and decodes a wire op; values come back deep-frozen copies. */
export function decodeOp(input: unknown, limits: DecodeLimits): Op {
  if (!isRecord(input)) throw bad('op');
  const kind = input.k;
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw bad('op kind');
  // Received arrays are fresh from JSON.parse: validated and frozen in place, not copied.
  const path = adoptPath(input.p, limits.maxDepth);
  const seq = count(input.s, 'op seq', 1);
  const stamp = decodeStamp(input.w, input.c, input.n);
  if (input.q !== undefined && input.q !== 1) throw bad('op keepTtl');
  const expiry = decodeExpiry(kind as OpKind, input.x, input.q === 1 ? true : undefined);
  return opOf(kind as OpKind, path, seq, stamp, decodeValue(kind as OpKind, input.v, 'v' in input, path, limits), expiry);
}

/** Checks an expiry time received from elsewhere (ms since the epoch). */
export function decodeExpireAt(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_EXPIRE_AT) throw bad('expiry time');
  return value;
}

// An op's expiry fields: `expireAt` on set, incr and append, `keepTtl` on set only.
function decodeExpiry(kind: OpKind, expireAt: unknown, keepTtl: true | undefined): { expireAt?: number; keepTtl?: true } | undefined {
  if (expireAt === undefined && keepTtl === undefined) return undefined;
  if (kind === 'delete' || kind === 'ttl') throw bad(`${kind} op with an expiry`);
  if (keepTtl === true && (kind !== 'set' || expireAt !== undefined)) throw bad('keepTtl on an op that is not a set without expiry');
  return keepTtl === true ? { keepTtl } : { expireAt: decodeExpireAt(expireAt) };
}

// A decoded value, checked and frozen: adopted in place where the input is the decoder's own.
function storedValue(raw: unknown, where: ValuePlace, maxBytes: number, limits: DecodeLimits): JsonValue {
  return limits.adopt === true ? adoptValue(raw, where, maxBytes) : toStoredValue(raw, where, maxBytes);
}

function decodeValue(kind: OpKind, raw: unknown, present: boolean, path: readonly string[], limits: DecodeLimits): JsonValue | undefined {
  if (kind === 'incr') {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) throw bad('incr amount');
    return raw;
  }
  if (kind === 'ttl') {
    if (raw === null) return null;
    return decodeExpireAt(raw);
  }
  if (kind === 'delete') {
    if (present && raw !== undefined) throw bad('delete op');
    return undefined;
  }
  if (!present) throw bad(`${kind} op without a value`);
  return storedValue(raw, path, limits.maxValueBytes, limits);
}

function opOf(kind: OpKind, path: readonly string[], seq: number, stamp: Stamp, value: JsonValue | undefined, expiry?: { expireAt?: number; keepTtl?: true }): Op {
  return newOp(kind, path, seq, stamp, value, expiry?.expireAt, expiry?.keepTtl === true ? true : undefined);
}

// A run's kinds by code (its codes by kind: OP_KIND_CODES). Codes 5-7 are set, incr and append with an
// expiry: their value slot holds [value, expireAt]. Code 8 is a set with keepTtl.
const RUN_KINDS: readonly OpKind[] = [...OP_KINDS_BY_CODE, 'set', 'incr', 'append', 'set'];
const RUN_EXPIRING_CODES: Readonly<Partial<Record<OpKind, number>>> = { set: 5, incr: 6, append: 7 };
// Codes above this one carry an expiry (or keepTtl).
const RUN_WITH_EXPIRY = 4;
const RUN_KEEP_TTL = 8;
/** The slots of a run (see encodeRun) before its ops. */
export const RUN_HEAD = 4;
/** The slots of a run (see encodeRun) per op. */
export const RUN_FIELDS = 5;

/** The code of `op` in a run: its kind's, or one of a kind with an expiry or keepTtl. */
export function runCode(op: Op): number {
  if (op.expireAt !== undefined) return RUN_EXPIRING_CODES[op.kind]!;
  return op.keepTtl === true ? RUN_KEEP_TTL : OP_KIND_CODES[op.kind];
}

/** The kind of the run code `code`, if it is one. */
export function runCodeKind(code: number): OpKind | undefined {
  return RUN_KINDS[code];
}

/** Whether ops of the run code `code` carry an expiry time: their value slot is `[value, expireAt]`. */
export function runCodeExpires(code: number): boolean {
  return code > RUN_WITH_EXPIRY && code !== RUN_KEEP_TTL;
}

/** Whether `op` continues the run `previous` belongs to: the same origin, the next seq. */
export function continuesRun(previous: Op, op: Op): boolean {
  return op.stamp.node === previous.stamp.node && op.seq === previous.seq + 1;
}

/**
 * Ops of one origin with consecutive seqs (a hub's live stream), as one flat array:
 * `[node, firstSeq, firstWall, paths, (kind code, path index, value, wall step, counter) per op]`.
 * The origin and seqs are implied, walls are steps from the previous op (0 within a
 * millisecond), each distinct path travels (and is validated) once, and a delete's value slot
 * holds 0: a hot key costs about 15 bytes per op instead of about 70 as a `WireOp`.
 */
export function encodeRun(ops: readonly Op[]): unknown[] {
  const first = ops[0]!;
  const paths: (readonly string[])[] = [];
  // Hot paths are the same frozen array each time (the path cache), so identity finds most.
  const indexOf = new Map<readonly string[], number>();
  const run: unknown[] = [first.stamp.node, first.seq, first.stamp.wall, paths];
  let wall = first.stamp.wall;
  for (const op of ops) {
    let index = indexOf.get(op.path);
    if (index === undefined) {
      index = paths.length;
      paths.push(op.path);
      indexOf.set(op.path, index);
    }
    const code = runCode(op);
    let value: unknown = op.value === undefined ? 0 : op.value;
    if (op.expireAt !== undefined) value = [value, op.expireAt];
    run.push(code, index, value, op.stamp.wall - wall, op.stamp.count);
    wall = op.stamp.wall;
  }
  return run;
}

/**
 * The most ops `encodeRuns` puts in one run. V8 keeps an array of more than about 16k slots
 * (3276 ops) in a slow mode, and parses a long one slower: an entry of 10k ops read back at
 * 440-640 ns an op as one run, 112 as ten of 1000.
 */
export const RUN_MOST_OPS = 1000;

/**
 * Calls `each` with the bounds of each run of `ops` (see encodeRuns): one origin's ops with
 * consecutive seqs, at most RUN_MOST_OPS of them.
 */
export function eachRun(ops: readonly Op[], each: (start: number, end: number) => void): void {
  let start = 0;
  for (let i = 1; i <= ops.length; i++) {
    const previous = ops[i - 1]!;
    const op = ops[i];
    if (op !== undefined && i - start < RUN_MOST_OPS && continuesRun(previous, op)) continue;
    each(start, i);
    start = i;
  }
}

/**
 * Ops of any origins and seqs as runs (`encodeRun`): each run one origin's ops with consecutive
 * seqs, at most RUN_MOST_OPS of them.
 */
export function encodeRuns(ops: readonly Op[]): unknown[][] {
  const runs: unknown[][] = [];
  eachRun(ops, (start, end) => runs.push(encodeRun(ops.slice(start, end))));
  return runs;
}

/** Validates and decodes a run (see `encodeRun`); values come back deep-frozen copies. */
export function decodeRun(input: unknown, limits: DecodeLimits): Op[] {
  if (!Array.isArray(input) || input.length < RUN_HEAD + RUN_FIELDS || (input.length - RUN_HEAD) % RUN_FIELDS !== 0) throw bad('op run');
  const node = decodeNodeId(input[0]);
  let seq = count(input[1], 'run seq', 1);
  let wall = count(input[2], 'run wall', 0);
  const rawPaths: unknown = input[3];
  if (!Array.isArray(rawPaths) || rawPaths.length === 0) throw bad('run paths');
  const paths = rawPaths.map((path) => adoptPath(path, limits.maxDepth));
  const ops: Op[] = [];
  for (let at = RUN_HEAD; at < input.length; at += RUN_FIELDS) {
    const code: unknown = input[at];
    const kind = typeof code === 'number' ? RUN_KINDS[code] : undefined;
    if (kind === undefined) throw bad('op kind');
    const index: unknown = input[at + 1];
    const path = typeof index === 'number' ? paths[index] : undefined;
    if (path === undefined) throw bad('run path index');
    wall = count(wall + count(input[at + 3], 'wall step', 0), 'stamp wall', 0);
    const stamp: Stamp = { wall, count: count(input[at + 4], 'stamp counter', 0), node };
    let raw: unknown = input[at + 2];
    if (kind === 'delete' && raw !== 0) throw bad('delete op');
    let expiry: { expireAt?: number; keepTtl?: true } | undefined;
    if (code === RUN_KEEP_TTL) expiry = { keepTtl: true };
    else if (runCodeExpires(code as number)) {
      if (!Array.isArray(raw) || raw.length !== 2) throw bad('run op with an expiry');
      expiry = { expireAt: decodeExpireAt(raw[1]) };
      raw = raw[0];
    }
    ops.push(opOf(kind, path, seq++, stamp, decodeValue(kind, kind === 'delete' ? undefined : raw, true, path, limits), expiry));
  }
  return ops;
}

/** A version vector as it travels: `[origin, seq, wall, counter][]`. */
export type WireVector = [string, number, number, number][];

/** The wire form of a version vector. */
export function encodeVector(vector: VersionVector): WireVector {
  return Object.entries(vector).map(([origin, entry]) => [origin, entry.seq, entry.stamp.wall, entry.stamp.count]);
}

/** Validates and decodes a version vector. */
export function decodeVector(input: unknown): VersionVector {
  if (!Array.isArray(input)) throw bad('version vector');
  const vector: Record<string, { seq: number; stamp: Stamp }> = Object.create(null);
  for (const entry of input) {
    if (!Array.isArray(entry) || entry.length !== 4) throw bad('version vector entry');
    const origin = decodeNodeId(entry[0]);
    vector[origin] = { seq: count(entry[1], 'version vector seq', 0), stamp: decodeStamp(entry[2], entry[3], origin) };
  }
  return vector;
}

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
  if (!isRecord(input)) throw bad('snapshot node');
  if (path.length > limits.maxDepth) throw bad('snapshot depth');
  if (input.e !== undefined) {
    if (path.length === 0 || ['b', 'a', 'o', 't', 'k', 'f'].some((field) => field in input)) throw bad('snapshot bucket');
    node.bucket = decodeBucket(input.e, path, limits, ops);
    return;
  }
  if (input.a === 1) node.base = ABSENT;
  else if ('b' in input) node.base = storedValue(input.b, path.join('.') || '(root)', Infinity, limits) as Slot;
  const where = (op: Op): Op => {
    if (op.path.length !== path.length || op.path.some((key, i) => key !== path[i])) throw bad('snapshot op path');
    ops.push(op);
    return op;
  };
  if (input.o !== undefined) {
    if (!Array.isArray(input.o)) throw bad('snapshot ops');
    // Sorted here rather than trusted: every fold assumes stamp order.
    node.ops = input.o.map((op) => where(decodeOp(op, limits))).sort((a, b) => compareStamps(a.stamp, b.stamp));
  }
  if (input.t !== undefined) {
    const touch = decodeOp(input.t, limits);
    ops.push(touch);
    node.touch = touch;
  }
  if (input.k !== undefined) {
    if (!Array.isArray(input.k)) throw bad('snapshot kids');
    for (const entry of input.k) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw bad('snapshot kid');
      const key = entry[0];
      if (key.length === 0 || !isAllowedKey(key) || node.kid(key) !== undefined) throw bad('snapshot key');
      const kid = new TreeNode(ABSENT);
      decodeNodeInto(kid, entry[1], [...path, key], limits, ops);
      node.addKid(key, kid);
    }
  }
  if (input.f !== undefined) {
    // Each a key of the base (an object), no kid beside it, and no own op that would wipe it.
    const base = node.base;
    if (!Array.isArray(input.f) || input.f.length === 0 || node.ops.length > 0 || !isPlainObject(base)) throw bad('snapshot folded expiries');
    const folded = new KeyTimes();
    for (const entry of input.f) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw bad('snapshot folded expiry');
      const key = entry[0];
      if (!isAllowedKey(key) || !Object.hasOwn(base, key) || node.kid(key) !== undefined || folded.has(key)) throw bad('snapshot folded expiry key');
      folded.set(key, decodeExpireAt(entry[1]));
    }
    node.folded = folded;
  }
}

function decodeBucket(input: unknown, path: string[], limits: DecodeLimits, ops: Op[]): Bucket {
  if (!isRecord(input)) throw bad('snapshot bucket');
  const records: Op[] = [];
  if (input.r !== undefined) {
    if (!Array.isArray(input.r)) throw bad('snapshot bucket ops');
    for (const raw of input.r) {
      const op = decodeOp(raw, limits);
      if (op.path.length < path.length || path.some((key, i) => op.path[i] !== key)) throw bad('snapshot bucket op path');
      records.push(op);
      ops.push(op);
    }
    records.sort((a, b) => compareStamps(a.stamp, b.stamp));
  }
  let base: ExpiryState | undefined;
  if (input.s !== undefined) {
    const state = input.s;
    if (!isRecord(state)) throw bad('snapshot bucket state');
    const value: Slot = state.a === 1 ? ABSENT : 'b' in state ? (storedValue(state.b, path, Infinity, limits) as Slot) : bad('snapshot bucket value') as never;
    const armed: Armed[] = [];
    if (state.m !== undefined) {
      if (!Array.isArray(state.m) || state.m.length > MAX_ARMED) throw bad('snapshot bucket expiries');
      for (const entry of state.m) {
        if (!Array.isArray(entry) || entry.length !== 2) throw bad('snapshot bucket expiry');
        const relative = adoptPath(entry[0], limits.maxDepth - path.length, true);
        armed.push({ path: relative, at: decodeExpireAt(entry[1]) });
      }
    }
    if (state.w !== undefined && state.w !== 1) throw bad('snapshot bucket flag');
    base = { value, armed };
    return new Bucket(path.length, base, records, state.w === 1);
  }
  return new Bucket(path.length, base, records);
}
