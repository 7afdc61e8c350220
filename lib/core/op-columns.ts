import type { NodeId, Stamp } from './clock.js';
import { OP_KIND_CODES, OP_KINDS_BY_CODE, isOverwrite, newOp, type Op } from './op.js';
import type { Segments } from './path.js';
import { CHUNK_BITS, CHUNK_NUMBERS, CHUNK_SIZE, SLOT_MASK, newChunk, releaseChunk, type Chunk } from './chunks.js';
import { applyOp, asObject, type Slot } from './slot.js';

// The columns a node keeps its own ops in once it holds many (see own-ops.ts, which holds them
// as a plain array while they are few).

// A chunk's numbers (core/chunks.ts), a column each, per record: a run of one origin's
// increments by the same number, stamped one after the other (one wall, consecutive counts and
// seqs), or a single op. A hot counter written by one hub holds a few records a millisecond, not
// an op each: what a linked hub holds for a quarter of a second, and what a fold reads, is that
// many times smaller. The columns: the first op's wall, count and seq; the kind code (with
// VALUE_HELD) plus the index of the origin (in the columns' own list of them) times ORIGIN_UNIT;
// the value when it is a number; and the op number after the record's last (see #dropped).
const WALL = 0;
const COUNT = CHUNK_SIZE;
const SEQ = 2 * CHUNK_SIZE;
const CODE = 3 * CHUNK_SIZE;
const NUMBER = 4 * CHUNK_SIZE;
const END = 5 * CHUNK_SIZE;
// Added to the kind code of an op whose value is not a number: it is in the chunk's `values`.
const VALUE_HELD = 8;
// A record's CODE is its kind code (below VALUE_HELD * 2) plus its origin's index times
// ORIGIN_UNIT.
const ORIGIN_SHIFT = 4;
const ORIGIN_UNIT = 1 << ORIGIN_SHIFT;
const KIND_MASK = ORIGIN_UNIT - 1;
// The code of an increment (its value is always a number), replayed without a call.
const INCR_CODE = OP_KIND_CODES.incr;

// The `values` of a chunk, made at its first value that is not a number (a copy of this).
const NO_VALUES: readonly undefined[] = new Array<undefined>(CHUNK_SIZE).fill(undefined);

/**
 * The ops of one node, a column per field, in chunks: no object per op. A linked hub keeps
 * every op above the GC horizon, and an object per op held that long (a quarter of a second, at
 * a million ops a second) is what cost most in a hub writing a hot counter: the garbage
 * collector moved each twice and marked it. Here ops are numbers in memory the collector never
 * moves (and a value that is not a number, a slot of a JS array), and a run of increments is
 * one record. An op is made again as an object when it is asked for (`at`), to die young.
 *
 * Ops are numbered from the columns' first (`#dropped` is the number of op 0): a record knows
 * where it ends, and where it starts is where the one before it ends.
 *
 * Every op here has the node's path and no expiry (ops that touch expiry live in buckets).
 */
export class OpColumns implements Iterable<Op> {
  readonly #path: Segments;
  readonly #chunks: Chunk[] = [];
  // The origins of the ops held (a node is written by a few hubs), and the last one looked up.
  readonly #origins: NodeId[] = [];
  #lastOrigin = 0;
  // Where record 0 is in the first chunk, how many records and ops are held, and the number of
  // op 0.
  #head = 0;
  #records = 0;
  #length = 0;
  #dropped = 0;
  // The number of the last set or delete held, or -1: a late op before it is wiped (see
  // `overwritesFrom`), and there is seldom more than one (a set replaces the ops before it), so
  // it is followed rather than looked for among thousands of increments.
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
    const number = this.#dropped + index;
    if (number <= this.#lastOverwrite) this.#lastOverwrite++;
    else if (isOverwrite(op.kind)) this.#lastOverwrite = number;
    if (index === this.#length) {
      this.#append(op);
      return;
    }
    const record = this.#recordOf(number);
    const start = this.#start(record);
    if (number === start) {
      this.#open(record);
      this.#write(record, op, number + 1);
      this.#moveEnds(record + 1);
    } else {
      // Within a run: it is split around the op, its second part a record of its own.
      this.#open(record + 1);
      this.#open(record + 1);
      this.#copy(record, record + 2);
      this.#advance(record + 2, number - start);
      this.#setEnd(record, number);
      this.#write(record + 1, op, number + 1);
      this.#moveEnds(record + 2);
    }
    this.#length++;
  }

  // Appends `op`: to the last record, when it continues its run.
  #append(op: Op): void {
    const number = this.#dropped + this.#length;
    const last = this.#records - 1;
    const value = op.value;
    if (last >= 0 && op.kind === 'incr' && typeof value === 'number') {
      const position = this.#head + last;
      const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
      const slot = position & SLOT_MASK;
      const held = number - this.#start(last);
      if (
        numbers[CODE + slot] === INCR_CODE + this.#originIndex(op.stamp.node) * ORIGIN_UNIT &&
        numbers[WALL + slot] === op.stamp.wall &&
        numbers[COUNT + slot]! + held === op.stamp.count &&
        numbers[SEQ + slot]! + held === op.seq &&
        Object.is(numbers[NUMBER + slot], value)
      ) {
        numbers[END + slot] = number + 1;
        this.#length++;
        return;
      }
    }
    const position = this.#head + this.#records;
    if (position >> CHUNK_BITS === this.#chunks.length) this.#chunks.push(newChunk());
    this.#records++;
    this.#write(this.#records - 1, op, number + 1);
    this.#length++;
  }

  // Makes room for a record at `record` (the records from it move up one).
  #open(record: number): void {
    const end = this.#head + this.#records;
    if (end >> CHUNK_BITS === this.#chunks.length) this.#chunks.push(newChunk());
    this.#shiftUp(this.#head + record, end);
    this.#records++;
  }

  // Moves the records at positions from .. end - 1 up one (the slot at `end` exists): a chunk's
  // part at a time, with copyWithin, and the record before a chunk into its first slot.
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

  // Adds one to where each record from `record` on ends (an op was inserted before them).
  #moveEnds(record: number): void {
    for (let position = this.#head + record; position < this.#head + this.#records; position++) {
      const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
      numbers[END + (position & SLOT_MASK)] = numbers[END + (position & SLOT_MASK)]! + 1;
    }
  }

  #originIndex(origin: NodeId): number {
    if (this.#origins[this.#lastOrigin] === origin) return this.#lastOrigin;
    let index = this.#origins.indexOf(origin);
    if (index === -1) index = this.#origins.push(origin) - 1;
    this.#lastOrigin = index;
    return index;
  }

  // Writes `op` as the record at `record`, ending before op number `end`.
  #write(record: number, op: Op, end: number): void {
    const position = this.#head + record;
    const chunk = this.#chunks[position >> CHUNK_BITS]!;
    const slot = position & SLOT_MASK;
    const numbers = chunk.numbers;
    numbers[WALL + slot] = op.stamp.wall;
    numbers[COUNT + slot] = op.stamp.count;
    numbers[SEQ + slot] = op.seq;
    numbers[END + slot] = end;
    const origin = this.#originIndex(op.stamp.node) * ORIGIN_UNIT;
    const value = op.value;
    if (typeof value === 'number') {
      numbers[CODE + slot] = OP_KIND_CODES[op.kind] + origin;
      numbers[NUMBER + slot] = value;
      if (chunk.values !== undefined) chunk.values[slot] = undefined;
    } else {
      numbers[CODE + slot] = OP_KIND_CODES[op.kind] + VALUE_HELD + origin;
      (chunk.values ??= NO_VALUES.slice())[slot] = value;
    }
  }

  // Copies the record at `from` over the one at `to`.
  #copy(from: number, to: number): void {
    const source = this.#chunks[(this.#head + from) >> CHUNK_BITS]!;
    const target = this.#chunks[(this.#head + to) >> CHUNK_BITS]!;
    const a = (this.#head + from) & SLOT_MASK;
    const b = (this.#head + to) & SLOT_MASK;
    for (let column = 0; column < CHUNK_NUMBERS; column += CHUNK_SIZE) target.numbers[column + b] = source.numbers[column + a]!;
    // By the code, not the value: a delete holds `undefined` there.
    if ((source.numbers[CODE + a]! & KIND_MASK) >= VALUE_HELD) (target.values ??= NO_VALUES.slice())[b] = source.values![a];
    else if (target.values !== undefined) target.values[b] = undefined;
  }

  // Moves the start of a run's record `ops` ops on (its first ops were dropped or split off).
  #advance(record: number, ops: number): void {
    const position = this.#head + record;
    const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
    const slot = position & SLOT_MASK;
    numbers[COUNT + slot] = numbers[COUNT + slot]! + ops;
    numbers[SEQ + slot] = numbers[SEQ + slot]! + ops;
  }

  #end(record: number): number {
    const position = this.#head + record;
    return this.#chunks[position >> CHUNK_BITS]!.numbers[END + (position & SLOT_MASK)]!;
  }

  #setEnd(record: number, end: number): void {
    const position = this.#head + record;
    this.#chunks[position >> CHUNK_BITS]!.numbers[END + (position & SLOT_MASK)] = end;
  }

  // The number of the first op of `record`.
  #start(record: number): number {
    return record === 0 ? this.#dropped : this.#end(record - 1);
  }

  // The record holding op number `number` (held): a binary search, the last record first.
  #recordOf(number: number): number {
    let low = this.#records - 1;
    if (number >= this.#start(low)) return low;
    low = 0;
    let high = this.#records - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#end(middle) > number) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  /** Drops the first `count` ops (fewer than are held): chunks left empty are let go. */
  dropFirst(count: number): void {
    const to = this.#dropped + count;
    let records = 0;
    for (let position = this.#head; this.#end(records) <= to; position++, records++) {
      // The values of dropped ops are let go at once (a folded list or object may be large).
      const values = this.#chunks[position >> CHUNK_BITS]!.values;
      if (values !== undefined) values[position & SLOT_MASK] = undefined;
    }
    // A run dropped in part keeps its later ops.
    if (this.#start(records) < to) this.#advance(records, to - this.#start(records));
    this.#dropped = to;
    this.#length -= count;
    this.#records -= records;
    if (this.#lastOverwrite < to) this.#lastOverwrite = -1;
    const head = this.#head + records;
    const emptied = head >> CHUNK_BITS;
    if (emptied > 0) for (const chunk of this.#chunks.splice(0, emptied)) releaseChunk(chunk);
    this.#head = head & SLOT_MASK;
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
    this.#records = 0;
    this.#length = 0;
    this.#dropped = 0;
    this.#lastOverwrite = -1;
  }

  /** Whether a set or delete is held at `index` or after. */
  overwritesFrom(index: number): boolean {
    return this.#lastOverwrite >= this.#dropped + index;
  }

  /** Where an op stamped `stamp` goes: after every op stamped before it (a binary search). */
  insertionIndex(stamp: Stamp): number {
    // The first record whose first op is stamped after `stamp`.
    let low = 0;
    let high = this.#records;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#compareRecord(middle, 0, stamp) > 0) high = middle;
      else low = middle + 1;
    }
    if (low === 0) return 0;
    const record = low - 1;
    const start = this.#start(record);
    return start - this.#dropped + this.#notAfter(record, this.#end(record) - start, stamp);
  }

  // How many of the first `count` ops of `record`, the first not stamped after `stamp`, are not
  // stamped after it: the ops of a run are one origin's, at one wall, with counts one apart.
  #notAfter(record: number, count: number, stamp: Stamp): number {
    const position = this.#head + record;
    const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
    const slot = position & SLOT_MASK;
    if (numbers[WALL + slot] !== stamp.wall) return count;
    const origin = this.#origins[numbers[CODE + slot]! >> ORIGIN_SHIFT]!;
    return Math.min(count, stamp.count - numbers[COUNT + slot]! + (origin <= stamp.node ? 1 : 0));
  }

  /**
   * The first `count` ops replayed on `start` (see node.ts replay), read from the columns in
   * place: a late op makes its node replay every op it holds, thousands on a hot counter, and a
   * fold the ones it folds.
   */
  replay(start: Slot, count: number, touch: Stamp | undefined): Slot {
    let current = start;
    let begin = this.#dropped;
    for (let record = 0; begin < this.#dropped + count; record++) {
      const end = Math.min(this.#end(record), this.#dropped + count);
      // `begin` is where the record starts (record 0 at op 0: a drop cuts the front of a run).
      if (touch !== undefined && this.#compareRecord(record, end - 1 - begin, touch) > 0) {
        // The touch is between two of these ops: the value is an object from the first after it.
        const before = this.#compareRecord(record, 0, touch) > 0 ? 0 : this.#notAfter(record, end - begin, touch);
        current = asObject(this.#replayRecord(current, record, before));
        touch = undefined;
        current = this.#replayRecord(current, record, end - begin - before);
      } else {
        current = this.#replayRecord(current, record, end - begin);
      }
      begin = end;
    }
    return touch === undefined ? current : asObject(current);
  }

  // `current` with `ops` ops of `record` applied (all alike: a run applies one increment).
  #replayRecord(current: Slot, record: number, ops: number): Slot {
    if (ops === 0) return current;
    const position = this.#head + record;
    const chunk = this.#chunks[position >> CHUNK_BITS]!;
    const slot = position & SLOT_MASK;
    const code = chunk.numbers[CODE + slot]! & KIND_MASK;
    const number = chunk.numbers[NUMBER + slot]!;
    if (code !== INCR_CODE) return applyOp(current, { kind: OP_KINDS_BY_CODE[code % VALUE_HELD]!, value: code >= VALUE_HELD ? chunk.values![slot] : number });
    let sum = typeof current === 'number' ? current : 0;
    // Whole numbers add up exactly in one step while every partial sum is safe; any other
    // number is added once per op, as every replica adds it (floating point is not associative).
    if (Number.isInteger(number) && Number.isInteger(sum) && Math.abs(sum) + ops * Math.abs(number) <= Number.MAX_SAFE_INTEGER) return sum + ops * number;
    for (let op = 0; op < ops; op++) sum += number;
    return sum;
  }

  /** The op at `index`, made as an object. */
  at(index: number): Op {
    const number = this.#dropped + index;
    const record = this.#recordOf(number);
    return this.#opOf(record, number - this.#start(record));
  }

  // Op `within` of `record`, made as an object.
  #opOf(record: number, within: number): Op {
    const position = this.#head + record;
    const chunk = this.#chunks[position >> CHUNK_BITS]!;
    const slot = position & SLOT_MASK;
    const numbers = chunk.numbers;
    const code = numbers[CODE + slot]!;
    const stamp: Stamp = { wall: numbers[WALL + slot]!, count: numbers[COUNT + slot]! + within, node: this.#origins[code >> ORIGIN_SHIFT]! };
    const kind = code & KIND_MASK;
    const value = kind >= VALUE_HELD ? chunk.values![slot] : numbers[NUMBER + slot];
    return newOp(OP_KINDS_BY_CODE[kind % VALUE_HELD]!, this.#path, numbers[SEQ + slot]! + within, stamp, value);
  }

  /** compareStamps of the stamp at `index` and `stamp`. */
  compareAt(index: number, stamp: Stamp): number {
    const number = this.#dropped + index;
    const record = this.#recordOf(number);
    return this.#compareRecord(record, number - this.#start(record), stamp);
  }

  // compareStamps of the stamp of op `within` of `record` and `stamp`.
  #compareRecord(record: number, within: number, stamp: Stamp): number {
    const position = this.#head + record;
    const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
    const slot = position & SLOT_MASK;
    const wall = numbers[WALL + slot]!;
    if (wall !== stamp.wall) return wall - stamp.wall;
    const count = numbers[COUNT + slot]! + within;
    if (count !== stamp.count) return count - stamp.count;
    const origin = this.#origins[numbers[CODE + slot]! >> ORIGIN_SHIFT]!;
    return origin < stamp.node ? -1 : origin > stamp.node ? 1 : 0;
  }

  /**
   * Calls `each` with every origin of the first `count` ops and the highest seq among its ops
   * there: read from the records in place, as a fold drops thousands of a hot counter's ops.
   */
  eachHighestSeq(count: number, each: (origin: NodeId, seq: number) => void): void {
    const highest: number[] = this.#origins.map(() => 0);
    let begin = this.#dropped;
    for (let position = this.#head; begin < this.#dropped + count; position++) {
      const numbers = this.#chunks[position >> CHUNK_BITS]!.numbers;
      const slot = position & SLOT_MASK;
      const end = Math.min(numbers[END + slot]!, this.#dropped + count);
      const origin = numbers[CODE + slot]! >> ORIGIN_SHIFT;
      // A run's seqs are one apart: its last op here has the highest.
      const seq = numbers[SEQ + slot]! + end - 1 - begin;
      if (seq > highest[origin]!) highest[origin] = seq;
      begin = end;
    }
    for (let origin = 0; origin < highest.length; origin++) if (highest[origin]! > 0) each(this.#origins[origin]!, highest[origin]!);
  }

  /** Every op, each made as an object (see `at`): record by record, with no search. */
  *[Symbol.iterator](): Iterator<Op> {
    let begin = this.#dropped;
    for (let record = 0; record < this.#records; record++) {
      const end = this.#end(record);
      for (let within = 0; within < end - begin; within++) yield this.#opOf(record, within);
      begin = end;
    }
  }
}
