import { isAfter, type Stamp } from './clock.js';
import { decodeBound, decodeNodeId, decodeStamp, decodeVector, encodeVector, type WireVector } from './codec.js';
import type { VersionEntry, VersionVector } from './horizon.js';
import type { Op } from './op.js';

/** The sequence bookkeeping of a snapshot (see `Sequences.encode`). */
export interface WireSequences {
  vector: WireVector;
  /** Ops applied beyond the contiguous vector: [origin, seq, wall, counter]. */
  ahead?: WireVector;
  folded: [string, number][];
  /** The highest GC horizon folded at: ops stamped at or below it can no longer be applied. */
  horizon?: [number, number, string];
}

/**
 * Per origin, how far a replica has applied: what makes delivery exactly-once, gaps visible,
 * and GC accountable. Holds the contiguous version vector, the ops applied beyond it (from a
 * delta that arrives in pieces), the highest seq folded away per origin, and the highest
 * horizon folded at.
 */
export class Sequences {
  readonly #applied = new Map<string, VersionEntry>();
  // Per origin, ops applied beyond the contiguous vector, by seq: they must never be applied
  // again, and the vector moves through them once the gap before them is closed.
  readonly #ahead = new Map<string, Map<number, Stamp>>();
  // Per origin, the highest seq folded away by GC: a peer behind it needs a snapshot.
  readonly #folded = new Map<string, number>();
  // The highest horizon folded at. An op stamped at or below it that arrives now cannot be
  // placed (its neighbours' records are gone): receivers must refuse it, see `isLate`.
  #foldedTo: Stamp | undefined;
  // The highest horizon another replica folded at while this one held every op stamped at or
  // below it (see `heardFold`): an op new here and stamped at or below it is as late.
  #groupFoldedTo: Stamp | undefined;

  /** The last contiguous seq applied from `origin` (0 for none). */
  seq(origin: string): number {
    return this.#applied.get(origin)?.seq ?? 0;
  }

  /** Whether `op` was applied already (covered by the vector, or applied ahead of it). */
  has(op: Op): boolean {
    const origin = op.stamp.node;
    return op.seq <= this.seq(origin) || this.#ahead.get(origin)?.has(op.seq) === true;
  }

  /** Whether `seq` of `origin` was applied ahead of the vector. */
  isAhead(origin: string, seq: number): boolean {
    return this.#ahead.size !== 0 && this.#ahead.get(origin)?.has(seq) === true;
  }

  /** Whether any op of `origin` was applied ahead of the vector. */
  holdsAhead(origin: string): boolean {
    return this.#ahead.size !== 0 && this.#ahead.has(origin);
  }

  /** The vector of `origin` is at `entry` (an op is its own entry: no allocation on the hot path). */
  set(origin: string, entry: VersionEntry): void {
    this.#applied.set(origin, entry);
  }

  /** Records an op applied beyond the contiguous vector. */
  markAhead(origin: string, seq: number, stamp: Stamp): void {
    let ahead = this.#ahead.get(origin);
    if (ahead === undefined) this.#ahead.set(origin, (ahead = new Map()));
    ahead.set(seq, stamp);
  }

  /**
   * The contiguous vector of `origin` reaches `entry`: moves it on through every op already
   * applied ahead of it, and forgets those. Returns the seq it reached.
   */
  advance(origin: string, entry: VersionEntry): number {
    const ahead = this.#ahead.get(origin);
    let last = entry;
    if (ahead !== undefined) {
      for (let next = ahead.get(last.seq + 1); next !== undefined; next = ahead.get(last.seq + 1)) {
        ahead.delete(last.seq + 1);
        last = { seq: last.seq + 1, stamp: next };
      }
      for (const seq of ahead.keys()) if (seq <= last.seq) ahead.delete(seq);
      if (ahead.size === 0) this.#ahead.delete(origin);
    }
    const mine = this.#applied.get(origin);
    if (mine === undefined || last.seq > mine.seq) this.#applied.set(origin, last);
    return last.seq;
  }

  /** Per origin with ops applied beyond its contiguous vector, the highest of them. */
  held(): Record<string, number> | undefined {
    if (this.#ahead.size === 0) return undefined;
    const held: Record<string, number> = {};
    for (const [origin, seqs] of this.#ahead) held[origin] = Math.max(...seqs.keys());
    return held;
  }

  /** The version vector: per origin, the last contiguous seq applied and its stamp. */
  vector(): VersionVector {
    const vector: Record<string, VersionEntry> = {};
    for (const [origin, { seq, stamp }] of this.#applied) vector[origin] = { seq, stamp };
    return vector;
  }

  /**
   * `seq` of `origin` is lost for good (see Replica.forgetLost): the vector moves through it,
   * and on through the ops held beyond it. False unless it is the next after the vector.
   */
  skip(origin: string, seq: number): boolean {
    const before = this.#applied.get(origin);
    if (seq !== (before?.seq ?? 0) + 1) return false;
    this.advance(origin, { seq, stamp: before?.stamp ?? { wall: 0, count: 0, node: origin as Stamp['node'] } });
    return true;
  }

  /** Whether every op applied is `origin`'s, none ahead of the vector and none folded. */
  onlyFrom(origin: string): boolean {
    if (this.#foldedTo !== undefined || this.#ahead.size > 0) return false;
    for (const other of this.#applied.keys()) if (other !== origin) return false;
    return true;
  }

  /** `seq` of `origin` was folded away (with everything of it before). */
  folded(origin: string, seq: number): void {
    if (seq > (this.#folded.get(origin) ?? 0)) this.#folded.set(origin, seq);
  }

  /** The highest seq of `origin` GC folded away (0 if none). */
  foldedSeq(origin: string): number {
    return this.#folded.get(origin) ?? 0;
  }

  /**
   * How many ops applied are not folded yet (each held as a record): per origin, its seq past the
   * last one folded, and those applied ahead. Counted from the vector, not the tree: O(origins).
   */
  unfolded(): number {
    let count = 0;
    for (const [origin, entry] of this.#applied) count += entry.seq - (this.#folded.get(origin) ?? 0);
    for (const ahead of this.#ahead.values()) count += ahead.size;
    return count;
  }

  /** GC folded at `horizon`. */
  foldedAt(horizon: Stamp): void {
    if (this.#foldedTo === undefined || isAfter(horizon, this.#foldedTo)) this.#foldedTo = horizon;
  }

  /**
   * Whether GC has folded (or dropped) every op applied: nothing held ahead of the vector, and
   * each origin's latest op at or below the horizon folded at.
   */
  foldedThrough(): boolean {
    const folded = this.#foldedTo;
    if (folded === undefined || this.#ahead.size > 0) return false;
    for (const { stamp } of this.#applied.values()) if (isAfter(stamp, folded)) return false;
    return true;
  }

  /** The highest horizon folded at, if any. */
  get foldedTo(): Stamp | undefined {
    return this.#foldedTo;
  }

  /** Whether a replica at `vector` is behind what was folded here (only a snapshot helps it). */
  behindFold(vector: Readonly<Record<string, { readonly seq: number } | undefined>>): boolean {
    for (const [origin, seq] of this.#folded) if ((vector[origin]?.seq ?? 0) < seq) return true;
    return false;
  }

  /** Whether these sequences folded ops of some origin beyond what `other` holds in order. */
  behindFoldOf(other: Sequences): boolean {
    for (const [origin, seq] of this.#folded) if (other.seq(origin) < seq) return true;
    return false;
  }

  /**
   * Another replica folded at `horizon` and now holds `vector`. Folding at `horizon` took every
   * replica of the group holding every op stamped at or below it, all inside its vector. If
   * these sequences hold, for every origin of `vector`, as much (or ops of it stamped after the
   * horizon: an origin's stamps grow with its seqs), they hold all those ops too, and one that
   * comes new later was stamped late. Returns whether the bound moved.
   */
  heardFold(horizon: Stamp, vector: VersionVector): boolean {
    if (this.#groupFoldedTo !== undefined && !isAfter(horizon, this.#groupFoldedTo)) return false;
    for (const [origin, entry] of Object.entries(vector)) {
      const mine = this.#applied.get(origin);
      if (entry === undefined || (mine?.seq ?? 0) >= entry.seq) continue;
      if (mine === undefined || !isAfter(mine.stamp, horizon)) return false;
    }
    this.#groupFoldedTo = horizon;
    return true;
  }

  /**
   * Whether `op` is new here but stamped at or below the horizon folded at, or at or below one
   * another replica folded at while this one held all it had then (`heardFold`). See
   * Replica.isLate.
   */
  isLate(op: Op): boolean {
    // The bounds first: a live op is stamped past them, and then no lookup of what it holds is needed.
    const foldedTo = this.#foldedTo;
    const groupFoldedTo = this.#groupFoldedTo;
    const below = (foldedTo !== undefined && !isAfter(op.stamp, foldedTo)) || (groupFoldedTo !== undefined && !isAfter(op.stamp, groupFoldedTo));
    return below && !this.has(op);
  }

  /** The snapshot form. */
  encode(): WireSequences {
    const wire: WireSequences = {
      vector: encodeVector(this.vector()),
      ahead: [...this.#ahead].flatMap(([origin, seqs]) =>
        [...seqs].map(([seq, stamp]): [string, number, number, number] => [origin, seq, stamp.wall, stamp.count]),
      ),
      folded: [...this.#folded],
    };
    if (this.#foldedTo !== undefined) wire.horizon = [this.#foldedTo.wall, this.#foldedTo.count, this.#foldedTo.node];
    return wire;
  }

  /** Validates the snapshot form; throws a TypeError naming what is wrong. */
  static decode(wire: WireSequences): Sequences {
    const sequences = new Sequences();
    const vector = decodeVector(wire.vector);
    for (const origin of Object.keys(vector)) sequences.#applied.set(origin, vector[origin]!);
    if (!Array.isArray(wire.folded)) throw new TypeError('malformed snapshot folded');
    for (const entry of wire.folded) {
      if (!Array.isArray(entry) || !Number.isSafeInteger(entry[1]) || entry[1] < 0) throw new TypeError('malformed snapshot folded');
      sequences.#folded.set(decodeNodeId(entry[0]), entry[1]);
    }
    if (wire.ahead !== undefined) {
      if (!Array.isArray(wire.ahead)) throw new TypeError('malformed snapshot ahead');
      for (const entry of wire.ahead) {
        if (!Array.isArray(entry) || !Number.isSafeInteger(entry[1]) || entry[1] < 1) throw new TypeError('malformed snapshot ahead');
        const origin = decodeNodeId(entry[0]);
        sequences.markAhead(origin, entry[1], decodeStamp(entry[2], entry[3], origin));
      }
    }
    if (wire.horizon !== undefined) sequences.#foldedTo = decodeBound(wire.horizon, 'snapshot horizon');
    return sequences;
  }

  /** Takes over `other`'s bookkeeping (a snapshot adopted); keeps the higher fold horizon. */
  adopt(other: Sequences): void {
    this.#folded.clear();
    for (const [origin, seq] of other.#folded) this.#folded.set(origin, seq);
    if (other.#foldedTo !== undefined) this.foldedAt(other.#foldedTo);
    this.#applied.clear();
    for (const [origin, entry] of other.#applied) this.#applied.set(origin, entry);
    this.#ahead.clear();
    for (const [origin, seqs] of other.#ahead) this.#ahead.set(origin, new Map(seqs));
  }
}
