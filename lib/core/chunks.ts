import type { JsonValue } from './value.js';

// The memory of the columns of a node's own ops (core/op-columns.ts): chunks of numbers, carved
// out of slabs and recycled.

// Records of ops (an op, or a run of increments: see op-columns.ts) are held in chunks of this
// many (a power of two): a chunk is made when the last one is full and let go once every record
// in it was dropped, so that neither growing nor folding ever copies what is held (growing
// columns of 300k ops took a third of a hub's write). A chunk of 64 is 3 KB: a key written a few
// dozen times between folds holds no more than its ops did as objects.
/** log2 of the records a chunk holds. */
export const CHUNK_BITS = 6;
/** The records a chunk holds. */
export const CHUNK_SIZE = 1 << CHUNK_BITS;
/** A record's slot within its chunk: its position & SLOT_MASK. */
export const SLOT_MASK = CHUNK_SIZE - 1;
/** The numbers of a chunk: six columns (see op-columns.ts) of CHUNK_SIZE. */
export const CHUNK_NUMBERS = 6 * CHUNK_SIZE;

// Chunks' numbers are views into slabs of this many: one allocation outside the JS heap per
// slab rather than per chunk (a typed array of its own took 20 us a chunk in a busy hub).
const CHUNKS_PER_SLAB = 64;

// Slabs every chunk of which was let go, kept to be handed out again: a linked hub writing a
// hot counter drops and makes thousands of chunks a second, and fresh memory costs a page fault
// per 4 KB on first write (80-240 ns an op on this project's VM, against 14-19 recycled) and an
// allocation the collector counts. Recycled whole, not chunk by chunk: a spare chunk would pin
// its slab, 64 times its size. A fold lets go of a quarter of a second of writes at once (a
// hundred slabs in a hub writing a million ops a second) and the next quarter takes as many
// again, so the spare ones may be as many as those in use, plus SPARE_SLABS: idle memory is at
// most the columns' own, and 12 MB. (Kept as weak references instead, they were collected
// before they were needed again.)
const SPARE_SLABS = 64;
const spareSlabs: Slab[] = [];
// Slabs holding a chunk in use, or handing them out.
let slabsInUse = 1;

// A slab and its chunks: handed out in order, taken back one by one (ops are dropped oldest
// first, so a slab's chunks mostly go back together).
class Slab {
  readonly chunks: Chunk[] = [];
  handedOut = 0;
  live = 0;

  constructor() {
    const buffer = new ArrayBuffer(CHUNKS_PER_SLAB * CHUNK_NUMBERS * Float64Array.BYTES_PER_ELEMENT);
    for (let i = 0; i < CHUNKS_PER_SLAB; i++) this.chunks.push(new Chunk(this, new Float64Array(buffer, i * CHUNK_NUMBERS * Float64Array.BYTES_PER_ELEMENT, CHUNK_NUMBERS)));
  }
}

/** CHUNK_SIZE records' numbers, and their values that are not numbers (made at the first). */
export class Chunk {
  values: (JsonValue | undefined)[] | undefined = undefined;

  constructor(
    readonly slab: Slab,
    readonly numbers: Float64Array,
  ) {}
}

// The slab new chunks come from.
let slab = new Slab();

/** A chunk to fill: from the slab handing them out, a spare one, or a new one. */
export function newChunk(): Chunk {
  if (slab.handedOut === CHUNKS_PER_SLAB) {
    slab = spareSlabs.pop() ?? new Slab();
    slabsInUse++;
  }
  slab.live++;
  return slab.chunks[slab.handedOut++]!;
}

/**
 * Takes back a chunk every op of which was dropped (its values cleared): once its slab's last
 * chunk comes back, the slab is spare. Only a chunk its columns let go comes here (dropFirst,
 * release): nothing else ever held it. A chunk never taken back (columns of a tree let go
 * whole) keeps its slab from being spare: the collector frees it with the last of its chunks.
 */
export function releaseChunk(chunk: Chunk): void {
  const from = chunk.slab;
  if (--from.live !== 0 || from.handedOut !== CHUNKS_PER_SLAB) return;
  from.handedOut = 0;
  // The slab new chunks come from hands them out again from its first: it is not spare too.
  if (from === slab) return;
  slabsInUse--;
  if (spareSlabs.length < SPARE_SLABS + slabsInUse) spareSlabs.push(from);
  else if (spareSlabs.length > SPARE_SLABS + slabsInUse) spareSlabs.pop();
}
