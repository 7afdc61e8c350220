import type { OpKind } from '../core/op.js';
import type { Segments } from '../core/path.js';
import type { JsonValue } from '../core/value.js';

// Entries per chunk (a power of two: an entry's chunk and place in it are a shift and a mask).
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;
// Slots per entry in a chunk: its kind, path and value, side by side.
const SLOTS = 3;

/**
 * A member's pending writes, field by field, in id order: the kind, path and value of each side
 * by side in chunks of slots, numbered on from the id of the first. Under a burst the hub takes
 * its time to apply hundreds of thousands of writes, and an object per write is what the
 * garbage collector then moves (twice each, young and then old); slots it does not. Chunks are
 * made at their full size and never grow (a growing array copies itself), and are dropped from
 * the front as their entries are let go of. Entries are added at the end and let go of from the
 * front only.
 */
export class WriteLog {
  #chunks: unknown[][] = [newChunk()];
  // The place of the first entry held in the first chunk, and its id; how many are held.
  #head = 0;
  #firstId: number;
  #size = 0;

  /** `firstId`: the id the first entry added gets. */
  constructor(firstId = 1) {
    this.#firstId = firstId;
  }

  /** How many entries are held. */
  get size(): number {
    return this.#size;
  }

  /** The id of the first entry held (of the next one added, when none is). */
  get firstId(): number {
    return this.#firstId;
  }

  /** Adds the next entry (its id: `firstId + size - 1`). */
  push(kind: OpKind | 'cas', path: Segments, value: JsonValue | undefined): void {
    const place = this.#head + this.#size;
    let chunk = this.#chunks[place >> CHUNK_BITS];
    if (chunk === undefined) this.#chunks.push((chunk = newChunk()));
    const slot = (place & (CHUNK - 1)) * SLOTS;
    chunk[slot] = kind;
    chunk[slot + 1] = path;
    chunk[slot + 2] = value;
    this.#size++;
  }

  /** Whether the entry `id` is held. */
  holds(id: number): boolean {
    return id >= this.#firstId && id - this.#firstId < this.#size;
  }

  /** The kind of entry `id` (held). */
  kind(id: number): OpKind | 'cas' {
    return this.#slot(id, 0) as OpKind | 'cas';
  }

  /** The path of entry `id` (held). */
  path(id: number): Segments {
    return this.#slot(id, 1) as Segments;
  }

  /** The value of entry `id` (held). */
  value(id: number): JsonValue | undefined {
    return this.#slot(id, 2) as JsonValue | undefined;
  }

  #slot(id: number, field: number): unknown {
    const place = this.#head + id - this.#firstId;
    return this.#chunks[place >> CHUNK_BITS]![(place & (CHUNK - 1)) * SLOTS + field];
  }

  /** Lets go of the first entry. */
  shift(): void {
    if (this.#size === 0) return;
    // Its slots are cleared: what it held is not kept until its chunk goes.
    const chunk = this.#chunks[0]!;
    const slot = this.#head * SLOTS;
    chunk[slot + 1] = undefined;
    chunk[slot + 2] = undefined;
    this.#head++;
    this.#firstId++;
    this.#size--;
    if (this.#head === CHUNK) {
      if (this.#chunks.length > 1) this.#chunks.shift();
      this.#head = 0;
    } else if (this.#size === 0) this.#head = 0; // empty: start the chunk over
  }

  /** Lets go of every entry; the next one added gets `nextId`. */
  clear(nextId: number): void {
    this.#chunks = [newChunk()];
    this.#head = 0;
    this.#size = 0;
    this.#firstId = nextId;
  }
}

function newChunk(): unknown[] {
  return new Array<unknown>(CHUNK * SLOTS);
}
