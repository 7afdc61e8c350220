import { RUN_REPEAT, eachRun, repeatsAfter, runCode } from '../core/codec.js';
import type { Op } from '../core/op.js';

// Bytes of the JSON punctuation written here.
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const ZERO = 0x30;
const MINUS = 0x2d;

// Integers written digit by digit (larger ones, and fractions, through String): every count,
// step and path index of a run, and most amounts.
const SMALL_INTEGER = 2 ** 31;

// Where runs are written: grown as needed, and kept (a turn of a busy hub writes about 16 KB).
const FIRST_BYTES = 1 << 16;

// The most bytes a number takes as JSON (String(-Number.MIN_VALUE): 24), and the room made
// before an op's numbers (at most six: with an expiry), brackets and commas are written
// unchecked.
const NUMBER_ROOM = 24;
const OP_ROOM = 6 * (NUMBER_ROOM + 1) + 2;

/**
 * Writes ops as the JSON text of their runs (core/codec.ts `encodeRuns`: byte for byte
 * `JSON.stringify(encodeRuns(ops))` without the brackets), straight into bytes. Built as
 * strings, the text of a hub's own ops made as much garbage as the rest of its write (576 bytes
 * a write sampled on a hot counter, 275 with this), and the bytes go to Redis as they are.
 */
export class RunBytes {
  #bytes = Buffer.allocUnsafe(FIRST_BYTES);
  #length = 0;

  /** The runs of `ops` (one origin's ops with consecutive seqs, in seq order), comma-separated. */
  write(ops: readonly Op[]): Buffer {
    this.#length = 0;
    eachRun(ops, (start, end) => {
      if (this.#length > 0) this.#byte(COMMA);
      this.#run(ops, start, end);
    });
    return Buffer.from(this.#bytes.subarray(0, this.#length));
  }

  // [node, firstSeq, firstWall, paths, (code, path index, value, wall step, count) per op]
  #run(ops: readonly Op[], start: number, end: number): void {
    const first = ops[start]!;
    // Paths first (the header lists them), found by identity: a hot path is the same frozen
    // array, and the op before has it most of the time.
    const paths: (readonly string[])[] = [];
    const indexOf = new Map<readonly string[], number>();
    const pathIndex = (path: readonly string[]): number => {
      let index = indexOf.get(path);
      if (index === undefined) {
        index = paths.length;
        indexOf.set(path, index);
        paths.push(path);
      }
      return index;
    };
    let lastPath = first.path;
    let lastIndex = pathIndex(lastPath);
    for (let i = start + 1; i < end; i++) if (ops[i]!.path !== lastPath) pathIndex((lastPath = ops[i]!.path));
    this.#byte(OPEN);
    this.#text(JSON.stringify(first.stamp.node));
    this.#ensure(OP_ROOM);
    let at = this.#length;
    this.#bytes[at++] = COMMA;
    at = writeNumber(this.#bytes, at, first.seq);
    this.#bytes[at++] = COMMA;
    at = writeNumber(this.#bytes, at, first.stamp.wall);
    this.#bytes[at++] = COMMA;
    this.#length = at;
    this.#text(JSON.stringify(paths));
    let wall = first.stamp.wall;
    lastPath = first.path;
    for (let i = start; i < end; i++) {
      const op = ops[i]!;
      // Ops that repeat the one before them: one record (as encodeRun writes them).
      const repeats = i === start ? 0 : repeatsAfter(ops, i, end);
      if (repeats >= 2) {
        this.#ensure(OP_ROOM);
        at = this.#length;
        this.#bytes[at++] = COMMA;
        at = writeNumber(this.#bytes, at, RUN_REPEAT);
        this.#bytes[at++] = COMMA;
        at = writeNumber(this.#bytes, at, repeats);
        this.#bytes.write(',0,0,0', at, 'latin1');
        this.#length = at + 6;
        i += repeats - 1;
        continue;
      }
      if (op.path !== lastPath) {
        lastPath = op.path;
        lastIndex = pathIndex(lastPath);
      }
      // Room for an op of numbers, made once (a value of text makes its own, then this again).
      this.#ensure(OP_ROOM);
      let bytes = this.#bytes;
      at = this.#length;
      bytes[at++] = COMMA;
      at = writeNumber(bytes, at, runCode(op));
      bytes[at++] = COMMA;
      at = writeNumber(bytes, at, lastIndex);
      bytes[at++] = COMMA;
      if (op.expireAt !== undefined) bytes[at++] = OPEN;
      const value = op.value;
      if (typeof value === 'number') at = writeNumber(bytes, at, value);
      else if (value === undefined) bytes[at++] = ZERO;
      else {
        this.#length = at;
        this.#text(JSON.stringify(value));
        this.#ensure(OP_ROOM);
        bytes = this.#bytes;
        at = this.#length;
      }
      if (op.expireAt !== undefined) {
        bytes[at++] = COMMA;
        at = writeNumber(bytes, at, op.expireAt);
        bytes[at++] = CLOSE;
      }
      bytes[at++] = COMMA;
      at = writeNumber(bytes, at, op.stamp.wall - wall);
      bytes[at++] = COMMA;
      at = writeNumber(bytes, at, op.stamp.count);
      this.#length = at;
      wall = op.stamp.wall;
    }
    this.#byte(CLOSE);
  }

  #text(text: string): void {
    this.#ensure(3 * text.length);
    this.#length += this.#bytes.write(text, this.#length, 'utf8');
  }

  #byte(byte: number): void {
    this.#ensure(1);
    this.#bytes[this.#length++] = byte;
  }

  #ensure(more: number): void {
    if (this.#length + more <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.#bytes.length, this.#length + more));
    this.#bytes.copy(grown, 0, 0, this.#length);
    this.#bytes = grown;
  }
}

const OPEN_BYTES = Buffer.from('[');
const COMMA_BYTES = Buffer.from(',');
const CLOSE_BYTES = Buffer.from(']');

/** The runs' array of an entry: the pieces RunBytes wrote, in brackets, comma-separated. */
export function entryRuns(pieces: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [OPEN_BYTES];
  for (const piece of pieces) {
    if (parts.length > 1) parts.push(COMMA_BYTES);
    parts.push(piece);
  }
  parts.push(CLOSE_BYTES);
  return Buffer.concat(parts);
}

// Writes `value` at `at` of `bytes` as JSON.stringify does (the caller made room: NUMBER_ROOM),
// and returns where it ends.
function writeNumber(bytes: Buffer, at: number, value: number): number {
  // Most numbers of a run: a code, an index, a step, a count (-0 too: JSON writes it 0).
  if (value >= 0 && value < 10 && (value | 0) === value) {
    bytes[at] = ZERO + value;
    return at + 1;
  }
  // Values are finite (checked when written and when received): null is JSON.stringify's word
  // for any other, written so that the text stays JSON whatever comes.
  if (!Number.isInteger(value) || value >= SMALL_INTEGER || value <= -SMALL_INTEGER) return at + bytes.write(Number.isFinite(value) ? String(value) : 'null', at, 'latin1');
  let rest = value;
  if (value < 0) {
    bytes[at++] = MINUS;
    rest = -value;
  }
  let end = at + 1;
  for (let left = rest; left >= 10; left = (left / 10) | 0) end++;
  let digit = end;
  do {
    const next = (rest / 10) | 0;
    bytes[--digit] = ZERO + rest - 10 * next;
    rest = next;
  } while (rest > 0);
  return end;
}
