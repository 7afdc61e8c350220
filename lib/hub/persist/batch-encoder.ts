import { continuesRun, runCode } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import { objectPrototypeHasEnumerableKeys } from '../../core/value.js';
import { ARRAY, BATCH_FORMAT, FALSE, FLOAT, MAX_NESTING, MAX_PATH_IDS, NEGATIVE, NULL, OBJECT, PATH_ID, SAME_PATH, SHAPED, SIBLING_PATH, STAMP_NEXT, STRING, TRUE, UINT, UINT32 } from './batch-format.js';
import { frameRecord, RECORD_HEADER_BYTES } from './records.js';

// The encoder is plain functions over one buffer of the module, passing the write position
// along, rather than a writer object: the first version, a writer object with a room check in
// every primitive, took 165 ns an op of the persist bench (a two-key object on a two-segment
// path); these functions, with the flags of batch-format.ts, take about 60. A record is written
// out (Journal) before the next one is encoded, so one buffer serves every journal of the process.
let bytes = Buffer.allocUnsafe(64 * 1024);
// The largest buffer kept between records; a larger record gets a buffer of its own.
const KEPT_BYTES = 1024 * 1024;
// What an op writes besides its strings and values, at most: its head, a path's segment
// count, its wall step and counter.
const OP_FIXED_BYTES = 1 + 3 * 8;
// What a value writes besides its strings, at most: a tag and a number (or a count).
const VALUE_FIXED_BYTES = 1 + 8;

// The keys of the last object written with its keys as an op's value (see SHAPED).
let shape: string[] | undefined;
// Object.prototype holds no enumerable key: a for-in walks an object's own keys alone.
let forIn = true;

const NO_PATH: readonly string[] = [];

// Where the run writeRun wrote last ends (the index of the op after it).
let runEnd = 0;
// The most ops a run holds: its count is written in RUN_COUNT_BYTES, once the run is written.
const RUN_COUNT_BYTES = 3;
const MAX_RUN_OPS = 2 ** (7 * RUN_COUNT_BYTES) - 1;

/**
 * The numbers a log gave its paths so far (see PATH_ID): one map per log, begun afresh with each
 * new log file. Keyed by the path array itself: a hot path is one frozen array (the path cache).
 */
export type PathIds = Map<readonly string[], number>;

// The log's path numbers for the record being encoded, and the paths it numbered: dropped again
// if the record is not made (a value too deep), since no reader will see their numbers.
let pathIds: PathIds = new Map();
const numbered: (readonly string[])[] = [];

/**
 * The record holding `ops` (at least one), framed (records.ts), for the log whose path numbers
 * are `ids`: a view of a buffer the next call reuses. Throws a `RangeError` for a value nested
 * deeper than the format takes (MAX_NESTING); `ids` is then as it was.
 */
export function encodeBatchRecord(ops: readonly Op[], ids: PathIds): Buffer {
  if (bytes.length > KEPT_BYTES) bytes = Buffer.allocUnsafe(KEPT_BYTES);
  shape = undefined;
  forIn = !objectPrototypeHasEnumerableKeys();
  pathIds = ids;
  numbered.length = 0;
  try {
    return encodeRuns(ops);
  } catch (error) {
    for (const path of numbered) ids.delete(path);
    throw error;
  }
}

function encodeRuns(ops: readonly Op[]): Buffer {
  let at = RECORD_HEADER_BYTES;
  room(at, VALUE_FIXED_BYTES);
  bytes[at++] = BATCH_FORMAT;
  at = writeUint(ops.length, at);
  for (let start = 0; start < ops.length; start = runEnd) at = writeRun(ops, start, at);
  return frameRecord(bytes, at);
}

// The check, and the growth, are two functions: the check is small enough for V8 to inline
// at each of its many call sites without using up what it inlines into a function.
function room(at: number, count: number): void {
  if (at + count > bytes.length) grow(at, count);
}

function grow(at: number, count: number): void {
  const grown = Buffer.allocUnsafe(Math.max(bytes.length * 2, at + count));
  bytes.copy(grown, 0, 0, at);
  bytes = grown;
}

// The run of ops that begins at `from` (ops of one origin with consecutive seqs), found as it is
// written rather than by a walk of the ops before: its op count is written after its ops, in
// RUN_COUNT_BYTES (a uint padded with continuation bits, which the reader takes as any uint).
function writeRun(ops: readonly Op[], from: number, at: number): number {
  const first = ops[from]!;
  at = writeString(first.stamp.node, at);
  room(at, 2 * 8 + RUN_COUNT_BYTES);
  at = writeUint(first.seq, at);
  at = writeUint(first.stamp.wall, at);
  const countAt = at;
  at += RUN_COUNT_BYTES;
  let wall = first.stamp.wall;
  let counter = -1;
  let previous = NO_PATH;
  let i = from;
  for (; i < ops.length && i - from < MAX_RUN_OPS; i++) {
    const op = ops[i]!;
    if (i > from && !continuesRun(ops[i - 1]!, op)) break;
    room(at, OP_FIXED_BYTES);
    const headAt = at++;
    let head = runCode(op);
    const path = op.path;
    const ids = pathIds;
    const id = ids.get(path);
    if (id !== undefined) {
      head |= PATH_ID;
      at = writeUint(id, at);
    } else if (path === previous) head |= SAME_PATH;
    else if (isSibling(path, previous)) {
      head |= SIBLING_PATH;
      at = writeString(path[path.length - 1]!, at);
    } else {
      at = writeUint(path.length, at);
      for (let s = 0; s < path.length; s++) at = writeString(path[s]!, at);
    }
    if (id === undefined && ids.size < MAX_PATH_IDS) {
      ids.set(path, ids.size);
      numbered.push(path);
    }
    previous = path;
    if (op.kind !== 'delete') at = writeOpValue(op.value, at);
    if (op.expireAt !== undefined) at = writeValue(op.expireAt, at, 0);
    const stamp = op.stamp;
    if (stamp.wall === wall && stamp.count === counter + 1) head |= STAMP_NEXT;
    else {
      room(at, 2 * 8);
      at = writeUint(stamp.wall - wall, at);
      at = writeUint(stamp.count, at);
    }
    wall = stamp.wall;
    counter = stamp.count;
    // Written last, once the flags are known (into the buffer as it is now: it may have grown).
    bytes[headAt] = head;
  }
  const count = i - from;
  bytes[countAt] = (count & 0x7f) | 0x80;
  bytes[countAt + 1] = ((count >>> 7) & 0x7f) | 0x80;
  bytes[countAt + 2] = count >>> 14;
  runEnd = i;
  return at;
}

function isSibling(path: readonly string[], previous: readonly string[]): boolean {
  const last = path.length - 1;
  if (last < 0 || last !== previous.length - 1) return false;
  for (let s = 0; s < last; s++) if (path[s] !== previous[s]) return false;
  return true;
}

// `value` must be a safe integer >= 0 (anything else is a bug of the caller, and throws), with
// room for 8 bytes at `at`.
function writeUint(value: number, at: number): number {
  // Most counts fit 31 bits, where bit operations are exact; larger ones (walls) take the
  // function below, kept apart so that this one stays small enough to inline.
  if ((value | 0) !== value || value < 0) return writeLargeUint(value, at);
  const buffer = bytes;
  while (value >= 0x80) {
    buffer[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buffer[at++] = value;
  return at;
}

function writeLargeUint(value: number, at: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a count: ${value}`);
  const buffer = bytes;
  while (value >= 0x80) {
    buffer[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buffer[at++] = value;
  return at;
}

function writeString(value: string, at: number): number {
  const length = value.length;
  // The length prefix, then at most 3 bytes of UTF-8 per code unit.
  room(at, 8 + length * 3);
  const start = at;
  if (length < 64) bytes[at++] = length * 2;
  else at = writeUint(length * 2, at);
  // Most strings (keys, path segments, node ids) are short and ASCII: copied here, a code unit
  // a byte, cheaper than a call into Buffer's encoder for each.
  const buffer = bytes;
  for (let i = 0; i < length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0x80) return writeWideString(value, start);
    buffer[at++] = unit;
  }
  return at;
}

function writeWideString(value: string, at: number): number {
  if (value.isWellFormed()) {
    const length = Buffer.byteLength(value, 'utf8');
    room(at, 8 + length);
    at = writeUint(length * 2, at);
    return at + bytes.write(value, at, 'utf8');
  }
  room(at, 8 + value.length * 2);
  at = writeUint(value.length * 2 + 1, at);
  return at + bytes.write(value, at, 'utf16le');
}

// An op's value: an object with the keys of the last one is written SHAPED, its values alone.
function writeOpValue(value: unknown, at: number): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return writeValue(value, at, 0);
  const object = value as Record<string, unknown>;
  if (shape !== undefined && forIn) {
    const start = at;
    room(at, 1);
    bytes[at++] = SHAPED;
    let index = 0;
    let same = true;
    for (const key in object) {
      if (key !== shape[index]) {
        same = false;
        break;
      }
      index++;
      const item = object[key];
      // The commonest items, integers below 2^31, written here rather than through writeValue,
      // which recurses and so is never inlined: measured 92 -> 83 ns an op of two of them.
      if (typeof item === 'number' && (item | 0) === item && item >= 0) at = writeSmallInteger(item, at);
      else at = writeValue(item, at, 1);
    }
    if (same && index === shape.length) return at;
    at = start;
  }
  return writeObject(object, at, 0, true);
}

function writeValue(value: unknown, at: number, depth: number): number {
  room(at, VALUE_FIXED_BYTES);
  switch (typeof value) {
    case 'string':
      bytes[at++] = STRING;
      return writeString(value, at);
    case 'number':
      // Small integers first: a bit operation tells them, cheaper than the test of a safe integer.
      if ((value | 0) === value && value >= 0) return writeSmallInteger(value, at);
      if (!Number.isSafeInteger(value)) {
        bytes[at++] = FLOAT;
        bytes.writeDoubleLE(value, at);
        return at + 8;
      }
      if (value >= 0) {
        bytes[at++] = UINT;
        return writeUint(value, at);
      }
      bytes[at++] = NEGATIVE;
      return writeUint(-value, at);
    case 'boolean':
      bytes[at++] = value ? TRUE : FALSE;
      return at;
    case 'object':
      if (value === null) {
        bytes[at++] = NULL;
        return at;
      }
      if (depth >= MAX_NESTING) throw new RangeError(`a value nested deeper than ${MAX_NESTING} levels`);
      if (!Array.isArray(value)) return writeObject(value as Record<string, unknown>, at, depth, false);
      bytes[at++] = ARRAY;
      at = writeUint(value.length, at);
      for (let i = 0; i < value.length; i++) at = writeValue(value[i], at, depth + 1);
      return at;
    default:
      throw new TypeError(`not a JSON value: ${typeof value}`);
  }
}

// An integer from 0 to 2^31 - 1: in a byte below 128, else in 4 (UINT32), without the loop of a
// uint (measured 75 -> 65 ns an op whose value holds two such integers).
function writeSmallInteger(value: number, at: number): number {
  room(at, 1 + 4);
  const buffer = bytes;
  if (value < 0x80) {
    buffer[at++] = UINT;
    buffer[at++] = value;
    return at;
  }
  buffer[at++] = UINT32;
  buffer[at++] = value;
  buffer[at++] = value >>> 8;
  buffer[at++] = value >>> 16;
  buffer[at++] = value >>> 24;
  return at;
}

// An object with its keys; an op's value itself (`top`) leaves its keys as the shape.
function writeObject(value: Record<string, unknown>, at: number, depth: number, top: boolean): number {
  room(at, VALUE_FIXED_BYTES);
  bytes[at++] = OBJECT;
  const keys = forIn ? undefined : Object.keys(value);
  let count = 0;
  if (keys !== undefined) count = keys.length;
  else for (const _key in value) count++;
  at = writeUint(count, at);
  const kept: string[] | undefined = top ? [] : undefined;
  if (keys !== undefined) {
    for (const key of keys) at = writeEntry(value, key, at, depth, kept);
  } else {
    for (const key in value) at = writeEntry(value, key, at, depth, kept);
  }
  if (kept !== undefined) shape = kept;
  return at;
}

function writeEntry(value: Record<string, unknown>, key: string, at: number, depth: number, kept: string[] | undefined): number {
  kept?.push(key);
  at = writeString(key, at);
  return writeValue(value[key], at, depth + 1);
}
