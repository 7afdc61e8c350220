import { decodeRun, RUN_FIELDS, RUN_HEAD, runCodeExpires, runCodeKind, type DecodeLimits } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import { isAllowedKey } from '../../core/path.js';
import { ByteReader } from './byte-reader.js';
import { ARRAY, BATCH_FORMAT, CODE_BITS, FALSE, FLOAT, MAX_NESTING, MAX_PATH_IDS, NEGATIVE, NULL, OBJECT, PATH_ID, SAME_PATH, SHAPED, SIBLING_PATH, STAMP_NEXT, STRING, TRUE, UINT, UINT32 } from './batch-format.js';

function malformed(what: string): TypeError {
  return new TypeError(`malformed batch record: ${what}`);
}

/**
 * The ops of a batch record's payload (`bytes`, starting with BATCH_FORMAT), read after the
 * records before it in its log, whose numbered paths are `paths` (see PATH_ID: the paths this
 * record numbers are added to it). Each run is read back into the array `encodeRun` makes and
 * decoded by `decodeRun`, so that ops read from disk pass the very checks ops from a peer pass.
 * Throws a `TypeError` or `RangeError` at anything malformed, before any op of the record is
 * returned; `paths` is then as it was.
 */
export function decodeBatchRecord(bytes: Uint8Array, limits: DecodeLimits, paths: string[][]): Op[] {
  const known = paths.length;
  try {
    return decodeRuns(bytes, limits, paths);
  } catch (error) {
    paths.length = known;
    throw error;
  }
}

function decodeRuns(bytes: Uint8Array, limits: DecodeLimits, numbered: string[][]): Op[] {
  const reader = new ByteReader(bytes);
  if (reader.byte() !== BATCH_FORMAT) throw new TypeError('not a batch record of a known format');
  // Said up front, so that a payload cut after a whole run reads as malformed, not as fewer ops.
  const total = reader.count();
  if (total === 0) throw malformed('no op');
  const values = new ValueReader(reader);
  const ops: Op[] = [];
  while (ops.length < total) {
    const run = readRun(reader, values, total - ops.length, limits.maxDepth, numbered);
    for (const op of decodeRun(run, limits)) ops.push(op);
  }
  if (reader.left > 0) throw malformed(`${reader.left} bytes after its ops`);
  return ops;
}

// A run, as the array `encodeRun` makes: `[node, firstSeq, firstWall, paths, (code, path
// index, value, wall step, counter) per op]`. At most `most` ops; `numbered`, the log's paths.
function readRun(reader: ByteReader, values: ValueReader, most: number, maxDepth: number, numbered: string[][]): unknown[] {
  const node = reader.string();
  const seq = reader.uint();
  const wall = reader.uint();
  const count = reader.count();
  if (count > most) throw malformed('more ops in its runs than it holds');
  const paths: string[][] = [];
  const run = new Array<unknown>(RUN_HEAD + RUN_FIELDS * count);
  run[0] = node;
  run[1] = seq;
  run[2] = wall;
  run[3] = paths;
  let at = RUN_HEAD;
  let previous: string[] | undefined;
  let counter = -1;
  for (let i = 0; i < count; i++) {
    const head = reader.byte();
    const code = head & CODE_BITS;
    const kind = runCodeKind(code);
    if (kind === undefined) throw malformed(`an op head of ${head}`);
    let path: string[];
    if ((head & PATH_ID) !== 0) {
      if ((head & (SAME_PATH | SIBLING_PATH)) !== 0) throw malformed('a path given twice');
      const id = reader.uint();
      if (id >= numbered.length) throw malformed(`path number ${id} of ${numbered.length}`);
      path = numbered[id]!;
    } else if ((head & (SAME_PATH | SIBLING_PATH)) !== 0) {
      if (previous === undefined) throw malformed('a path given by an op before it that is not there');
      if ((head & SAME_PATH) !== 0 && (head & SIBLING_PATH) !== 0) throw malformed('a path both the same as the one before it and a sibling');
      if ((head & SAME_PATH) !== 0) path = previous;
      else path = sibling(previous, reader.string());
    } else path = readPath(reader, maxDepth);
    if ((head & PATH_ID) === 0 && numbered.length < MAX_PATH_IDS) numbered.push(path);
    if (path !== previous) paths.push(path);
    previous = path;
    let value = kind === 'delete' ? 0 : values.opValue();
    if (runCodeExpires(code)) value = [value, values.value(0)];
    let step = 0;
    if ((head & STAMP_NEXT) !== 0) counter++;
    else {
      step = reader.uint();
      counter = reader.uint();
    }
    run[at++] = code;
    run[at++] = paths.length - 1;
    run[at++] = value;
    run[at++] = step;
    run[at++] = counter;
  }
  return run;
}

// `previous` with its last segment replaced by `last`: one array made, of its final size.
function sibling(previous: readonly string[], last: string): string[] {
  const path = new Array<string>(previous.length);
  for (let i = 0; i < previous.length - 1; i++) path[i] = previous[i]!;
  path[previous.length - 1] = last;
  return path;
}

function readPath(reader: ByteReader, maxDepth: number): string[] {
  const length = reader.count();
  if (length > maxDepth) throw new RangeError(`malformed batch record: a path of ${length} segments`);
  const path = new Array<string>(length);
  for (let i = 0; i < length; i++) path[i] = reader.string();
  return path;
}

// Reads values, keeping the shape SHAPED objects refer to.
class ValueReader {
  readonly #reader: ByteReader;
  #shape: string[] | undefined;

  constructor(reader: ByteReader) {
    this.#reader = reader;
  }

  // An op's value: its keys, when it is an object written with them, are the shape from now on.
  opValue(): unknown {
    const reader = this.#reader;
    const tag = reader.byte();
    if (tag === SHAPED) {
      const shape = this.#shape;
      if (shape === undefined) throw malformed('a shaped object before any shape');
      const entries: Record<string, unknown> = {};
      for (const key of shape) entries[key] = this.value(1);
      return entries;
    }
    if (tag !== OBJECT) return this.#tagged(tag, 0);
    const keys: string[] = [];
    const entries = this.#object(0, keys);
    this.#shape = keys;
    return entries;
  }

  value(depth: number): unknown {
    return this.#tagged(this.#reader.byte(), depth);
  }

  #tagged(tag: number, depth: number): unknown {
    const reader = this.#reader;
    switch (tag) {
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case UINT:
        return reader.uint();
      case UINT32:
        return reader.uint32();
      case NEGATIVE: {
        const magnitude = reader.uint();
        if (magnitude === 0) throw malformed('a negative zero count');
        return -magnitude;
      }
      case FLOAT:
        return reader.float64();
      case STRING:
        return reader.string();
      case ARRAY: {
        if (depth >= MAX_NESTING) throw new RangeError(`malformed batch record: a value nested deeper than ${MAX_NESTING} levels`);
        const items = new Array<unknown>(reader.count());
        for (let i = 0; i < items.length; i++) items[i] = this.value(depth + 1);
        return items;
      }
      case OBJECT:
        if (depth >= MAX_NESTING) throw new RangeError(`malformed batch record: a value nested deeper than ${MAX_NESTING} levels`);
        return this.#object(depth, undefined);
      default:
        throw malformed(`a value of tag ${tag}`);
    }
  }

  #object(depth: number, keys: string[] | undefined): Record<string, unknown> {
    const reader = this.#reader;
    const count = reader.count();
    const entries: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const key = reader.string();
      // Refused before it is assigned: `entries.__proto__ = ...` would set the prototype.
      if (!isAllowedKey(key)) throw malformed(`the key \`${key}\``);
      if (Object.hasOwn(entries, key)) throw malformed(`the key \`${key}\` twice`);
      keys?.push(key);
      entries[key] = this.value(depth + 1);
    }
    return entries;
  }
}
