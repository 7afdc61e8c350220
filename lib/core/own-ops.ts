import { compareStamps, type NodeId, type Stamp } from './clock.js';
import { OP_KIND_CODES, OP_KINDS_BY_CODE, isOverwrite, newOp, touchesExpiry, type Op } from './op.js';
import type { Segments } from './path.js';
import { CHUNK_BITS, CHUNK_NUMBERS, CHUNK_SIZE, SLOT_MASK, newChunk, releaseChunk, type Chunk } from './chunks.js';
import { applyOp, asObject, type Slot } from './slot.js';

/**
 * A node's own live ops, sorted by stamp (see TreeNode.ops): a plain array of ops while they
 * are few, columns (OpColumns) once a node holds many.
 */
export type OwnOps = Op[] | OpColumns;

/**
 * How many own ops a node holds before they are kept as columns. Most nodes hold one or two
 * (a set replaces the ops before it); a counter or a list written often holds every write since
 * the last fold, a quarter of a second of them between linked hubs.
 */
export const COLUMNS_FROM = 32;

/**
 * From how many own ops a node keeps them as columns (COLUMNS_FROM): tests and the simulators
 * lower it, so that what they check runs through the columns too.
 * @internal
 */
export const ownOpsTuning = { columnsFrom: COLUMNS_FROM };

// A chunk's numbers (core/chunks.ts), a column each: wall, count, seq, kind code (with
// VALUE_HELD), the index of the origin (in the columns' own list of them), and the value when
// it is a number.
const WALL = 0;
const COUNT = CHUNK_SIZE;
const SEQ = 2 * CHUNK_SIZE;
const KIND = 3 * CHUNK_SIZE;
const ORIGIN = 4 * CHUNK_SIZE;
const NUMBER = 5 * CHUNK_SIZE;
// Added to the kind code of an op whose value is not a number: it is in the chunk's `values`.
const VALUE_HELD = 8;
// The code of an increment (its value is always a number), replayed without a call.
const INCR_CODE = OP_KIND_CODES.incr;

// The `values` of a chunk, made at its first value that is not a number (a copy of this).
const NO_VALUES: readonly undefined[] = new Array<undefined>(CHUNK_SIZE).fill(undefined);

/**
 * The ops of one node, a column per field, in chunks: no object per op. A linked hub keeps
 * every op above the GC horizon, and an object per op held that long (a quarter of a second, at
 * a million ops a second) is what cost most in a hub writing a hot counter: the garbage
 * collector moved each twice and marked it. Here an op is numbers in memory the collector never
 * moves (and its value, when that is not a number, a slot of a JS array). It is made again as
 * an object when it is asked for (`at`), to die young.
 *
 * Every op here has the node's path and no expiry (ops that touch expiry live in buckets).
 */
export class OpColumns implements Iterable<Op> {
  readonly #path: Segments;
  readonly #chunks: Chunk[] = [];
  // The origins of the ops held (a node is written by a few hubs), and the last one looked up.
  readonly #origins: NodeId[] = [];
  #lastOrigin = 0;
  // Where op 0 is in the first chunk, and how many ops are held.
  #head = 0;
  #length = 0;
  // Where the last set or delete held is (a position, as #head), or -1: a late op before it is
  // wiped (see `overwritesFrom`), and there is seldom more than one (a set replaces the ops
  // before it), so it is followed rather than looked for among thousands of increments.
  #lastOverwrite = -1;

  /** Columns holding `ops` (sorted, at least one, none touching expiry). */
  constructor(ops: readonly Op[]) {
    this.#path = ops[0]!.path;
    for (const op of ops) this.insert(this.#length, op);
  }

  /** How many ops are held. */
  get length(): number {
    return this.#length;
  }

  /** Inserts `op` at `index` (the ops after it move up one). */
  insert(index: number, op: Op): void {
    const position = this.#head + index;
    if (position <= this.#lastOverwrite) this.#lastOverwrite++;
    else if (isOverwrite(op.kind)) this.#lastOverwrite = position;
    if (index === this.#length) {
      this.#push(op);
      return;
    }
    const end = this.#head + this.#length;
    if (end >> CHUNK_BITS === this.#chunks.length) this.#chunks.push(newChunk());
    this.#shiftUp(position, end);
    this.#write(position, op);
    this.#length++;
  }

  // Moves the ops at positions from .. end - 1 up one (the slot at `end` exists): a chunk's
  // part at a time, with copyWithin, and the op before a chunk into its first slot.
  #shiftUp(from: number, end: number): void {
    let top = end;
    while (top > from) {
      if ((top & SLOT_MASK) === 0) {
        this.#copy(top - 1 - this.#head, top - this.#head);
        top--;
        continue;
      }
      const chunk = this.#chunks[top >> CHUNK_BITS]!;
      const low = Math.max(from, (top >> CHUNK_BITS) << CHUNK_BITS);
      const a = low & SLOT_MASK;
      const b = top & SLOT_MASK;
      for (let column = 0; column < CHUNK_NUMBERS; column += CHUNK_SIZE) chunk.numbers.copyWithin(column + a + 1, column + a, column + b);
      chunk.values?.copyWithin(a + 1, a, b);
      top = low;
    }
  }

  #push(op: Op): void {
    const position = this.#head + this.#length;
    if (position >> CHUNK_BITS === this.#chunks.length) this.#chunks.push(newChunk());
    this.#write(position, op);
    this.#length++;
  }

  #originIndex(origin: NodeId): number {
    if (this.#origins[this.#lastOrigin] === origin) return this.#lastOrigin;
    let index = this.#origins.indexOf(origin);
    if (index === -1) index = this.#origins.push(origin) - 1;
    this.#lastOrigin = index;
    return index;
  }

  #write(position: number, op: Op): void {
    const chunk = this.#chunks[position >> CHUNK_BITS]!;
    const slot = position & SLOT_MASK;
    const numbers = chunk.numbers;
    numbers[WALL + slot] = op.stamp.wall;
    numbers[COUNT + slot] = op.stamp.count;
    numbers[SEQ + slot] = op.seq;
    numbers[ORIGIN + slot] = this.#originIndex(op.stamp.node);
    const value = op.value;
    if (typeof value === 'number') {
      numbers[KIND + slot] = OP_KIND_CODES[op.kind];
      numbers[NUMBER + slot] = value;
      if (chunk.values !== undefined) chunk.values[slot] = undefined;
    } else {
      numbers[KIND + slot] = OP_KIND_CODES[op.kind] + VALUE_HELD;
      (chunk.values ??= NO_VALUES.slice())[slot] = value;
    }
  }

  // Copies the op at index `from` over the one at index `to`.
  #copy(from: number, to: number): void {
    const source = this.#chunks[(this.#head + from) >> CHUNK_BITS]!;
    const target = this.#chunks[(this.#head + to) >> CHUNK_BITS]!;
    const a = (this.#head + from) & SLOT_MASK;
    const b = (this.#head + to) & SLOT_MASK;
    for (let column = 0; column < CHUNK_NUMBERS; column += CHUNK_SIZE) target.numbers[column + b] = source.numbers[column + a]!;
    // By the code, not the value: a delete holds `undefined` there.
    if (source.numbers[KIND + a]! >= VALUE_HELD) (target.values ??= NO_VALUES.slice())[b] = source.values![a];
    else if (target.values !== undefined) target.values[b] = undefined;
  }

  /** Drops the first `count` ops (fewer than are held): chunks left empty are let go. */
  dropFirst(count: number): void {
    const head = this.#head;
    // The values of dropped ops are let go at once (a folded list or object may be large).
    for (let position = head; position < head + count; position++) {
      const values = this.#chunks[position >> CHUNK_BITS]!.values;
      if (values !== undefined) values[position & SLOT_MASK] = undefined;
    }
    this.#length -= count;
    if (this.#lastOverwrite < head + count) this.#lastOverwrite = -1;
    const emptied = (head + count) >> CHUNK_BITS;
    if (emptied > 0) {
      for (const chunk of this.#chunks.splice(0, emptied)) releaseChunk(chunk);
      if (this.#lastOverwrite !== -1) this.#lastOverwrite -= emptied * CHUNK_SIZE;
    }
    this.#head = (head + count) & SLOT_MASK;
  }

  /**
   * Lets every chunk go (all the ops were folded or wiped): the columns hold nothing after, and
   * their node no longer holds them.
   */
  release(): void {
    for (const chunk of this.#chunks) {
      chunk.values?.fill(undefined);
      releaseChunk(chunk);
    }
    this.#chunks.length = 0;
    this.#head = 0;
    this.#length = 0;
    this.#lastOverwrite = -1;
  }

  /** Whether a set or delete is held at `index` or after. */
  overwritesFrom(index: number): boolean {
    return this.#lastOverwrite >= this.#head + index;
  }

  /** Where an op stamped `stamp` goes: after every op stamped before it (a binary search). */
  insertionIndex(stamp: Stamp): number {
    let low = 0;
    let high = this.#length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compareAt(middle, stamp) > 0) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /**
   * The first `count` ops replayed on `start` (see node.ts replay), read from the columns in
   * place: a late op makes its node replay every op it holds, thousands on a hot counter.
   */
  replay(start: Slot, count: number, touch: Stamp | undefined): Slot {
    let current = start;
    for (let index = 0; index < count; index++) {
      if (touch !== undefined && this.compareAt(index, touch) > 0) {
        current = asObject(current);
        touch = undefined;
      }
      const position = this.#head + index;
      const chunk = this.#chunks[position >> CHUNK_BITS]!;
      const slot = position & SLOT_MASK;
      const code = chunk.numbers[KIND + slot]!;
      if (code === INCR_CODE) current = (typeof current === 'number' ? current : 0) + chunk.numbers[NUMBER + slot]!;
      else current = applyOp(current, { kind: OP_KINDS_BY_CODE[code % VALUE_HELD]!, value: code >= VALUE_HELD ? chunk.values![slot] : chunk.numbers[NUMBER + slot] });
    }
    return touch === undefined ? current : asObject(current);
  }

  /** The op at `index`, made as an object. */
  at(index: number): Op {
    const position = this.#head + index;
    const chunk = this.#chunks[position >> CHUNK_BITS]!;
    const slot = position & SLOT_MASK;
    const numbers = chunk.numbers;
    const stamp: Stamp = { wall: numbers[WALL + slot]!, count: numbers[COUNT + slot]!, node: this.#origins[numbers[ORIGIN + slot]!]! };
    const code = numbers[KIND + slot]!;
    const value = code >= VALUE_HELD ? chunk.values![slot] : numbers[NUMBER + slot];
    return newOp(OP_KINDS_BY_CODE[code % VALUE_HELD]!, this.#path, numbers[SEQ + slot]!, stamp, value);
  }

  /** compareStamps of the stamp at `index` and `stamp`. */
  compareAt(index: number, stamp: Stamp): number {
    const position = this.#head + index;
    const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
    const slot = position & SLOT_MASK;
    const wall = numbers[WALL + slot]!;
    if (wall !== stamp.wall) return wall - stamp.wall;
    const count = numbers[COUNT + slot]!;
    if (count !== stamp.count) return count - stamp.count;
    const origin = this.#origins[numbers[ORIGIN + slot]!]!;
    return origin < stamp.node ? -1 : origin > stamp.node ? 1 : 0;
  }

  /**
   * Calls `each` with every origin of the first `count` ops and the highest seq among its ops
   * there: read from the columns in place, as a fold drops thousands of a hot counter's ops.
   */
  eachHighestSeq(count: number, each: (origin: NodeId, seq: number) => void): void {
    const highest: number[] = this.#origins.map(() => 0);
    for (let position = this.#head; position < this.#head + count; ) {
      const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
      const end = Math.min(this.#head + count, ((position >> CHUNK_BITS) + 1) << CHUNK_BITS);
      for (; position < end; position++) {
        const slot = position & SLOT_MASK;
        const origin = numbers[ORIGIN + slot]!;
        if (numbers[SEQ + slot]! > highest[origin]!) highest[origin] = numbers[SEQ + slot]!;
      }
    }
    for (let origin = 0; origin < highest.length; origin++) if (highest[origin]! > 0) each(this.#origins[origin]!, highest[origin]!);
  }

  /** Every op, each made as an object (see `at`). */
  *[Symbol.iterator](): Iterator<Op> {
    for (let index = 0; index < this.#length; index++) yield this.at(index);
  }
}

/** `ops` with `op` inserted at `index`: the same list, or columns once it holds COLUMNS_FROM. */
export function withOpAt(ops: Op[], index: number, op: Op): OwnOps {
  if (ops.length + 1 < ownOpsTuning.columnsFrom || touchesExpiry(op)) {
    if (index === ops.length) ops.push(op);
    else ops.splice(index, 0, op);
    return ops;
  }
  const columns = new OpColumns(ops);
  columns.insert(index, op);
  return columns;
}

/** Lets `ops` go: columns give their chunks back (see OpColumns.release). */
export function releaseOps(ops: OwnOps): void {
  if (!Array.isArray(ops)) ops.release();
}

/** The op at `index` of `ops`. */
export function opAt(ops: OwnOps, index: number): Op {
  return Array.isArray(ops) ? ops[index]! : ops.at(index);
}

/** Where an op stamped `stamp` goes in `ops`: after every op stamped before it. */
export function insertionIndex(ops: OwnOps, stamp: Stamp): number {
  if (!Array.isArray(ops)) return ops.insertionIndex(stamp);
  // A short list, where a late op lands near the end: from the end.
  let index = ops.length;
  while (index > 0 && compareStamps(ops[index - 1]!.stamp, stamp) > 0) index--;
  return index;
}

/** Whether `ops` hold a set or delete at `index` or after (an op stamped before it is wiped). */
export function overwritesFrom(ops: OwnOps, index: number): boolean {
  if (!Array.isArray(ops)) return ops.overwritesFrom(index);
  for (let i = index; i < ops.length; i++) if (isOverwrite(ops[i]!.kind)) return true;
  return false;
}

/**
 * Calls `each` with every origin of the first `count` of `ops` and the highest seq among its
 * ops there (what a fold notes as folded).
 */
export function eachHighestSeq(ops: OwnOps, count: number, each: (origin: NodeId, seq: number) => void): void {
  if (!Array.isArray(ops)) {
    ops.eachHighestSeq(count, each);
    return;
  }
  // A short list of ops comes in runs of one origin: `each` is called once per run.
  let origin: NodeId | undefined;
  let highest = 0;
  for (let i = 0; i < count; i++) {
    const op = ops[i]!;
    if (op.stamp.node !== origin) {
      if (origin !== undefined) each(origin, highest);
      origin = op.stamp.node;
      highest = op.seq;
    } else if (op.seq > highest) highest = op.seq;
  }
  if (origin !== undefined) each(origin, highest);
}
