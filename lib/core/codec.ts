import { CEILING_NODE, type NodeId, type Stamp } from './clock.js';
import { OP_KIND_CODES, OP_KINDS_BY_CODE, newOp, type Op, type OpKind } from './op.js';
import { adoptPath } from './path.js';
import type { VersionVector } from './horizon.js';
import { adoptValue, toStoredValue, type JsonValue, type ValuePlace } from './value.js';

/**
 * Plain-JSON forms of ops, runs and version vectors, and their decoders (tree snapshots:
 * core/snapshot-codec.ts). Everything decoded here may come from another process or machine:
 * decoders validate every field and throw a `TypeError`/`RangeError` on the first problem,
 * before anything is applied.
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

const NODE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The error of a decoder for `what`, malformed. */
export function malformed(what: string): TypeError {
  return new TypeError(`malformed ${what}`);
}

/** Whether `value` is an object that is not an array (a message, or a record inside one). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw malformed(what);
  return value;
}

/** Checks a node id received from elsewhere. */
export function decodeNodeId(value: unknown): NodeId {
  if (typeof value !== 'string' || !NODE_ID.test(value)) throw malformed('node id');
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
  if (!isRecord(input)) throw malformed('op');
  const kind = input.k;
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw malformed('op kind');
  // Received arrays are fresh from JSON.parse: validated and frozen in place, not copied.
  const path = adoptPath(input.p, limits.maxDepth);
  const seq = count(input.s, 'op seq', 1);
  const stamp = decodeStamp(input.w, input.c, input.n);
  if (input.q !== undefined && input.q !== 1) throw malformed('op keepTtl');
  const expiry = decodeExpiry(kind as OpKind, input.x, input.q === 1 ? true : undefined);
  return opOf(kind as OpKind, path, seq, stamp, decodeValue(kind as OpKind, input.v, 'v' in input, path, limits), expiry);
}

/** Checks an expiry time received from elsewhere (ms since the epoch). */
export function decodeExpireAt(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_EXPIRE_AT) throw malformed('expiry time');
  return value;
}

// An op's expiry fields: `expireAt` on set, incr and append, `keepTtl` on set only.
function decodeExpiry(kind: OpKind, expireAt: unknown, keepTtl: true | undefined): { expireAt?: number; keepTtl?: true } | undefined {
  if (expireAt === undefined && keepTtl === undefined) return undefined;
  if (kind === 'delete' || kind === 'ttl') throw malformed(`${kind} op with an expiry`);
  if (keepTtl === true && (kind !== 'set' || expireAt !== undefined)) throw malformed('keepTtl on an op that is not a set without expiry');
  return keepTtl === true ? { keepTtl } : { expireAt: decodeExpireAt(expireAt) };
}

/** A decoded value, checked and frozen: adopted in place where the input is the decoder's own. */
export function storedValue(raw: unknown, where: ValuePlace, maxBytes: number, limits: DecodeLimits): JsonValue {
  return limits.adopt === true ? adoptValue(raw, where, maxBytes) : toStoredValue(raw, where, maxBytes);
}

function decodeValue(kind: OpKind, raw: unknown, present: boolean, path: readonly string[], limits: DecodeLimits): JsonValue | undefined {
  if (kind === 'incr') {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) throw malformed('incr amount');
    return raw;
  }
  if (kind === 'ttl') {
    if (raw === null) return null;
    return decodeExpireAt(raw);
  }
  if (kind === 'delete') {
    if (present && raw !== undefined) throw malformed('delete op');
    return undefined;
  }
  if (!present) throw malformed(`${kind} op without a value`);
  return storedValue(raw, path, limits.maxValueBytes, limits);
}

function opOf(kind: OpKind, path: readonly string[], seq: number, stamp: Stamp, value: JsonValue | undefined, expiry?: { expireAt?: number; keepTtl?: true }): Op {
  return newOp(kind, path, seq, stamp, value, expiry?.expireAt, expiry?.keepTtl === true ? true : undefined);
}

// A run's kinds by code (its codes by kind: OP_KIND_CODES). Codes 5-7 are set, incr and append with an
// expiry: their value slot holds [value, expireAt]. Code 8 is a set with keepTtl. Code 9
// (RUN_REPEAT) is no op of its own: it repeats the op before it.
const RUN_KINDS: readonly OpKind[] = [...OP_KINDS_BY_CODE, 'set', 'incr', 'append', 'set'];
const RUN_EXPIRING_CODES: Readonly<Partial<Record<OpKind, number>>> = { set: 5, incr: 6, append: 7 };
// Codes above this one carry an expiry (or keepTtl).
const RUN_WITH_EXPIRY = 4;
const RUN_KEEP_TTL = 8;
/**
 * The code of a run's record `(RUN_REPEAT, n, 0, 0, 0)`: `n` more ops like the one before it
 * (same kind, path, value and expiry, same wall), each the next counter and seq (`repeatsOp`).
 * A hot counter's increments in one millisecond cost ten bytes a run (of up to RUN_MOST_OPS),
 * not about eleven each.
 */
export const RUN_REPEAT = 9;
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

/**
 * Whether `op` repeats `previous`, the op before it in a run: the same kind, path (the same
 * array: a hot path is one frozen array) and value (the same number, or the same object), the
 * same expiry, the same wall and the next counter. A run writes such ops as one RUN_REPEAT record.
 */
export function repeatsOp(previous: Op, op: Op): boolean {
  return (
    op.stamp.count === previous.stamp.count + 1 &&
    op.stamp.wall === previous.stamp.wall &&
    op.path === previous.path &&
    op.kind === previous.kind &&
    Object.is(op.value, previous.value) &&
    op.expireAt === previous.expireAt &&
    op.keepTtl === previous.keepTtl
  );
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
 * holds 0: a hot key costs about 15 bytes per op instead of about 70 as a `WireOp`. Two or more
 * ops in a row that repeat the one before them (`repeatsOp`) are one record
 * `(RUN_REPEAT, count, 0, 0, 0)`.
 */
export function encodeRun(ops: readonly Op[]): unknown[] {
  const first = ops[0]!;
  const paths: (readonly string[])[] = [];
  // Hot paths are the same frozen array each time (the path cache), so identity finds most.
  const indexOf = new Map<readonly string[], number>();
  const run: unknown[] = [first.stamp.node, first.seq, first.stamp.wall, paths];
  let wall = first.stamp.wall;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const repeats = i === 0 ? 0 : repeatsAfter(ops, i, ops.length);
    if (repeats >= 2) {
      run.push(RUN_REPEAT, repeats, 0, 0, 0);
      i += repeats - 1;
      continue;
    }
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
 * How many ops from `ops[at]` on (before `end`) each repeat the one before them (`repeatsOp`):
 * 0 when `ops[at]` does not. `ops[at - 1]` is in the same run.
 */
export function repeatsAfter(ops: readonly Op[], at: number, end: number): number {
  let repeats = 0;
  while (at + repeats < end && repeatsOp(ops[at + repeats - 1]!, ops[at + repeats]!)) repeats++;
  return repeats;
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
  if (!Array.isArray(input) || input.length < RUN_HEAD + RUN_FIELDS || (input.length - RUN_HEAD) % RUN_FIELDS !== 0) throw malformed('op run');
  const node = decodeNodeId(input[0]);
  let seq = count(input[1], 'run seq', 1);
  let wall = count(input[2], 'run wall', 0);
  const rawPaths: unknown = input[3];
  if (!Array.isArray(rawPaths) || rawPaths.length === 0) throw malformed('run paths');
  const paths = rawPaths.map((path) => adoptPath(path, limits.maxDepth));
  const ops: Op[] = [];
  for (let at = RUN_HEAD; at < input.length; at += RUN_FIELDS) {
    const code: unknown = input[at];
    if (code === RUN_REPEAT) {
      repeatLast(ops, input, at);
      seq = ops[ops.length - 1]!.seq + 1;
      continue;
    }
    const kind = typeof code === 'number' ? RUN_KINDS[code] : undefined;
    if (kind === undefined) throw malformed('op kind');
    const index: unknown = input[at + 1];
    const path = typeof index === 'number' ? paths[index] : undefined;
    if (path === undefined) throw malformed('run path index');
    wall = count(wall + count(input[at + 3], 'wall step', 0), 'stamp wall', 0);
    const stamp: Stamp = { wall, count: count(input[at + 4], 'stamp counter', 0), node };
    let raw: unknown = input[at + 2];
    if (kind === 'delete' && raw !== 0) throw malformed('delete op');
    let expiry: { expireAt?: number; keepTtl?: true } | undefined;
    if (code === RUN_KEEP_TTL) expiry = { keepTtl: true };
    else if (runCodeExpires(code as number)) {
      if (!Array.isArray(raw) || raw.length !== 2) throw malformed('run op with an expiry');
      expiry = { expireAt: decodeExpireAt(raw[1]) };
      raw = raw[0];
    }
    ops.push(opOf(kind, path, seq++, stamp, decodeValue(kind, kind === 'delete' ? undefined : raw, true, path, limits), expiry));
  }
  return ops;
}

// Expands the record `(RUN_REPEAT, count, 0, 0, 0)` at `at` of a run: `count` more ops like the
// last of `ops` (values are frozen: the copies share them), each the next counter and seq. A run
// holds at most RUN_MOST_OPS ops once expanded, so that a few bytes cannot ask for millions.
function repeatLast(ops: Op[], input: readonly unknown[], at: number): void {
  const previous = ops[ops.length - 1];
  if (previous === undefined) throw malformed('run repeating no op');
  const repeats = count(input[at + 1], 'repeat count', 1);
  if (input[at + 2] !== 0 || input[at + 3] !== 0 || input[at + 4] !== 0) throw malformed('repeat record');
  if (ops.length + repeats > RUN_MOST_OPS) throw malformed(`run of more than ${RUN_MOST_OPS} ops`);
  if (!Number.isSafeInteger(previous.stamp.count + repeats) || !Number.isSafeInteger(previous.seq + repeats)) throw malformed('repeat count');
  const { wall, node } = previous.stamp;
  let counter = previous.stamp.count;
  let seq = previous.seq;
  for (let i = 0; i < repeats; i++) {
    const stamp: Stamp = { wall, count: ++counter, node };
    ops.push(newOp(previous.kind, previous.path, ++seq, stamp, previous.value, previous.expireAt, previous.keepTtl));
  }
}

/** A version vector as it travels: `[origin, seq, wall, counter][]`. */
export type WireVector = [string, number, number, number][];

/** The wire form of a version vector. */
export function encodeVector(vector: VersionVector): WireVector {
  return Object.entries(vector).map(([origin, entry]) => [origin, entry.seq, entry.stamp.wall, entry.stamp.count]);
}

/** Validates and decodes a version vector. */
export function decodeVector(input: unknown): VersionVector {
  if (!Array.isArray(input)) throw malformed('version vector');
  const vector: Record<string, { seq: number; stamp: Stamp }> = Object.create(null);
  for (const entry of input) {
    if (!Array.isArray(entry) || entry.length !== 4) throw malformed('version vector entry');
    const origin = decodeNodeId(entry[0]);
    vector[origin] = { seq: count(entry[1], 'version vector seq', 0), stamp: decodeStamp(entry[2], entry[3], origin) };
  }
  return vector;
}
