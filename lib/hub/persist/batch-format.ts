/**
 * A batch of ops as the journal writes it: the runs of `encodeRun` (core/codec.ts), in binary
 * (batch-encoder.ts writes it, batch-decoder.ts reads it). As JSON, encoding a turn's ops cost
 * the journal more than the hub spent applying them (`JSON.stringify` alone measured 270-460 ns
 * per op on Node 20); in this form a typical op costs a fraction of that, mostly because what
 * repeats from one op to the next (its stamp's step, its path's parent, its object's keys) is
 * said in a bit instead of written again.
 *
 * Primitives: a `uint` is a safe integer >= 0, 7 bits a byte, low bits first, the high bit set
 * on every byte but the last (at most 8 bytes); a string is `uint(n * 2 + form)` then n bytes
 * of UTF-8 (form 0) or, for a string holding a lone surrogate, which UTF-8 cannot carry, n
 * UTF-16LE code units (form 1, 2n bytes).
 *
 * The payload: BATCH_FORMAT, the op count (uint), then runs holding that many ops, to its end.
 * A run: its origin (string), first seq and first wall (uints), op count (a uint the encoder
 * writes in 3 bytes, padded with continuation bits, once it has written the ops), then its ops.
 * An op: a head byte, its run code (low 4 bits) and flags; its path unless a flag gives it (a
 * uint segment count, then the segments); its value (below) unless it is a delete; its expiry
 * time (a value) if its code has one; its wall step and counter (uints) unless STAMP_NEXT.
 *
 * Paths are numbered per log file: every op whose path is not given by its number (PATH_ID)
 * gives the path it names the next number, while the log has fewer than MAX_PATH_IDS. A
 * record therefore reads only after the records before it in its log (as it always is: a log
 * is read from its start, and cut at its first bad record).
 */
export const BATCH_FORMAT = 0x01;

/** The bits of an op's head byte that hold its run code. */
export const CODE_BITS = 0x0f;
/** The op's stamp has the wall of the op before it in the run, and the next counter (the first op: the run's wall, counter 0). */
export const STAMP_NEXT = 0x10;
/** The op's path is the one of the op before it in the run. */
export const SAME_PATH = 0x20;
/** The op's path is a sibling of the one before it (all segments but the last the same): its last segment follows, alone. */
export const SIBLING_PATH = 0x40;
/** The op's path is the one numbered by the uint that follows (see the path numbers above). */
export const PATH_ID = 0x80;

/**
 * The most paths a log numbers: past them, paths are written out (a compaction begins a new
 * log, numbered afresh). A bound on what the writer keeps, and the reader.
 */
export const MAX_PATH_IDS = 4096;

/**
 * Value tags. A value is its tag, then: nothing (null, false, true), a uint (an integer, or the
 * magnitude of a negative one), 4 bytes little-endian (UINT32: an integer from 128 to 2^31, the
 * encoder's choice over a uint, which it writes without a loop), 8 bytes little-endian (any
 * other number), a string, a count and
 * that many values (an array), a count and that many keys and values (an object), or, for an
 * object that is an op's value itself with the very keys of the last such object written with
 * its keys in the record (`SHAPED`), its values alone.
 */
export const NULL = 0;
export const FALSE = 1;
export const TRUE = 2;
export const UINT = 3;
export const NEGATIVE = 4;
export const FLOAT = 5;
export const STRING = 6;
export const ARRAY = 7;
export const OBJECT = 8;
export const SHAPED = 9;
export const UINT32 = 10;

/**
 * The deepest a value of this format nests: the decoder recurses, and a bound keeps a record from
 * overflowing the stack. A deeper value (JSON's own parser takes any) goes to the journal as a
 * JSON record instead (see Journal).
 */
export const MAX_NESTING = 1000;
