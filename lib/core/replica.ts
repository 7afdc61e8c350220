import { ProtocolError, describe, inputTypeError } from '../errors.js';
import { HybridClock, compareStamps, isAfter, type NodeId, type Stamp } from './clock.js';
import { decodeStamp, type DecodeLimits } from './codec.js';
import { decodeNodeInto, encodeNode } from './snapshot-codec.js';
import type { Frontier, VersionEntry, VersionVector } from './horizon.js';
import { ABSENT } from './node.js';
import { newOp, type Op, type OpKind } from './op.js';
import { DEFAULT_MAX_DEPTH, parsePath, type Path, type Segments } from './path.js';
import { ReadCache, currentRead } from './read-cache.js';
import { Sequences } from './sequences.js';
import type { TreeMetadata } from './fold.js';
import type { Exported } from './exported.js';
import type { SnapshotReadings } from './live-readings.js';
import { ReplicatedTree, type Restated } from './tree.js';
import type { Due } from './schedule.js';
import { DEFAULT_MAX_VALUE_BYTES, jsonEqual, toStoredValue, type JsonValue } from './value.js';
import { Watchers, type WatchListener } from './watchers.js';
import { checkTtl, writeExpiry, type ExpiryOptions, type SetOptions, type WriteExpiry } from './write-options.js';
import { checkAmount, randomNodeId, type ApplyResult, type Delta, type ReplicaOptions, type ReplicaSnapshot } from './replica-types.js';

export { randomNodeId, type ApplyResult, type Delta, type ReplicaOptions, type ReplicaSnapshot } from './replica-types.js';

/**
 * One replica of the store: the replicated tree, the hybrid clock that stamps local writes,
 * and the per-origin sequence numbers that make delivery exactly-once and gaps visible.
 * Transport-free: a hub feeds it ops and ships what it returns.
 */
export class Replica {
  readonly id: NodeId;
  readonly limits: DecodeLimits;
  readonly #clock: HybridClock;
  readonly #tree: ReplicatedTree;
  // Values of string paths read often (see ReadCache); a replica's limits never change.
  readonly #reads = new ReadCache();
  #sequences = new Sequences();
  readonly #watchers = new Watchers((path) => this.get(path));
  readonly #onApplied: ReplicaOptions['onApplied'];
  readonly #onRestamped: ((ops: readonly Op[]) => void) | undefined;
  readonly #onReplaced: (() => void) | undefined;
  #seq = 0;
  #solo = false;

  constructor(options: ReplicaOptions = {}) {
    this.id = options.id ?? randomNodeId();
    this.#clock = new HybridClock(this.id, options.now);
    this.#tree = new ReplicatedTree(options.expiryClock ?? options.now ?? Date.now);
    this.#onApplied = options.onApplied;
    this.#onRestamped = options.onRestamped;
    this.#onReplaced = options.onReplaced;
    this.limits = {
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      maxValueBytes: options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    };
  }

  /** Validates a path against this replica's depth limit. */
  path(path: Path): Segments {
    return parsePath(path, this.limits.maxDepth);
  }

  /** The value at `path` (deep-frozen), or `undefined`; with no path, the whole tree. */
  get(path?: Path): JsonValue | undefined {
    if (path === undefined) return this.#tree.getAll();
    if (typeof path !== 'string') return this.#read(parsePath(path, this.limits.maxDepth));
    const cached = this.#reads.get(path);
    return cached === undefined ? this.#read(this.#reads.missed(path, this.limits.maxDepth)) : currentRead(cached, this.#tree);
  }

  #read(segments: Segments): JsonValue | undefined {
    const value = this.#tree.get(segments);
    return value === ABSENT ? undefined : value;
  }

  /** Calls `listener` for every change of the value at `path`; returns the unsubscribe. */
  watch(path: Path, listener: WatchListener): () => void {
    if (typeof listener !== 'function') {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected a listener function, got ${describe(listener)}`);
    }
    return this.#watchers.add(this.path(path), listener);
  }

  /**
   * Stamps and applies a local set; returns the op to ship. `options.ttl` arms an expiry that
   * many ms after the stamp; without it the set clears the expiry at `path`, unless `keepTtl`.
   */
  set(path: Path, value: unknown, options?: SetOptions): Op {
    const segments = this.path(path);
    const expiry = writeExpiry(options, segments, true);
    return this.#local('set', segments, toStoredValue(value, segments, this.limits.maxValueBytes), expiry);
  }

  /** Stamps and applies a local delete (it clears any expiry at or below `path`). */
  delete(path: Path): Op {
    return this.#local('delete', this.path(path), undefined);
  }

  /**
   * Stamps and applies a local increment (`by` may be negative). `options.ttl` arms an expiry
   * only if none is armed at `path` (a fixed window).
   */
  incr(path: Path, by: number = 1, options?: ExpiryOptions): Op {
    const segments = this.path(path);
    return this.#local('incr', segments, checkAmount(by, segments), writeExpiry(options, segments, false));
  }

  /** Stamps and applies a local append of one element; `options.ttl` as for `incr`. */
  append(path: Path, value: unknown, options?: ExpiryOptions): Op {
    const segments = this.path(path);
    const expiry = writeExpiry(options, segments, false);
    return this.#local('append', segments, toStoredValue(value, segments, this.limits.maxValueBytes), expiry);
  }

  /**
   * Stamps and applies a local `ttl` op: the value at `path` expires `ttl` ms after the stamp
   * (`null`: it never expires any more). Nothing there now, no op: `undefined` (once made, the
   * op arms its path whatever comes there: see core/expiry.ts).
   */
  expire(path: Path, ttl: number | null): Op | undefined {
    const segments = this.path(path);
    return this.expireValidated(segments, ttl === null ? null : checkTtl(ttl, segments));
  }

  /** `expire` for an already validated path and ttl. */
  expireValidated(path: Segments, ttl: number | null): Op | undefined {
    if (this.get(path) === undefined) return undefined;
    return this.#local('ttl', path, ttl);
  }

  /**
   * Milliseconds until the value at `path` expires (by its own expiry or one above it), read at
   * this replica's clock; undefined when none is armed or nothing is there.
   */
  ttl(path: Path): number | undefined {
    return this.#tree.ttl(this.path(path));
  }

  /** The time reads are at (ms): this replica's clock, never behind an op it holds. */
  readTime(): number {
    return this.#tree.readTime();
  }

  /** When the next armed expiry comes due (ms on this replica's clock), if any: for a timer. */
  nextDue(): number | undefined {
    return this.#tree.nextDue();
  }

  /**
   * The expiries due by now, each once: their watchers are told (`change.op === 'expire'`).
   * Returns them. They are hidden from reads; GC (`collect`) removes them for good.
   */
  expireDue(): Due[] {
    const due = this.#tree.takeDue(this.#tree.readTime());
    for (const entry of due) this.#watchers.notifyExpired(entry.path, this.id);
    return due;
  }

  /**
   * The whole state at `path` for a follower (a hub's member): its value before any expiry fires
   * by a clock, and the expiries armed at or below it (see ReplicatedTree.export, which says
   * what `overTurns` is for).
   */
  export(path: Segments, overTurns = false): Exported {
    return this.#tree.export(path, overTurns);
  }

  /**
   * Compare-and-set against this replica's current state: sets `next` when the value at
   * `path` deep-equals `expected` (`null` or `undefined` also match an absent value), with the
   * options of `set`. Returns the op, or `undefined` when the comparison failed.
   */
  cas(path: Path, expected: unknown, next: unknown, options?: SetOptions): Op | undefined {
    const segments = this.path(path);
    const expiry = writeExpiry(options, segments, true);
    const nextValue = toStoredValue(next, segments, this.limits.maxValueBytes);
    // `expected` is only compared, never stored: it needs no copy.
    return this.casValidated(segments, expected === undefined ? null : (expected as JsonValue), nextValue, expiry);
  }

  /**
   * Stamps and applies a local write whose path, value and expiry were already validated (by a
   * decoder that copied and froze the value): a member's intent at its hub. An `incr` value
   * must be a finite number; a `ttl` value is a ttl in ms (checked) or `null`.
   */
  writeValidated(kind: OpKind, path: Segments, value: JsonValue | undefined, expiry?: WriteExpiry): Op {
    return this.#local(kind, path, value, expiry);
  }

  /**
   * Runs `writing`, a batch of local writes applied together (a member's message of them): their
   * stamps may share readings of the wall clock (see HybridClock.sharingReadings).
   */
  writeBatch<T>(writing: () => T): T {
    return this.#clock.sharingReadings(writing);
  }

  /** `cas` for an already validated path and values; `undefined` when the comparison failed. */
  casValidated(path: Segments, expected: JsonValue | null, next: JsonValue, expiry?: WriteExpiry): Op | undefined {
    const current = this.get(path);
    const matches = current === undefined ? expected === null : jsonEqual(current, expected);
    return matches ? this.#local('set', path, next, expiry) : undefined;
  }

  // `value` of a `ttl` op is the ttl (ms) or null: the op carries the time it comes due.
  #local(kind: OpKind, path: Segments, value: JsonValue | undefined, expiry?: WriteExpiry): Op {
    // An expiry is counted from the stamp's time: the wall clock is read for it (see tick).
    const stamp = this.#clock.tick(kind === 'ttl' || expiry?.ttl !== undefined);
    const stored = kind === 'ttl' && value !== null ? stamp.wall + (value as number) : value;
    const expireAt = expiry?.ttl === undefined ? undefined : stamp.wall + expiry.ttl;
    const keepTtl = expireAt === undefined && expiry?.keepTtl === true ? true : undefined;
    const op = newOp(kind, path, this.#seq + 1, stamp, stored, expireAt, keepTtl);
    this.#seq++;
    this.#record(op);
    return op;
  }

  // If this id was used before (an explicit `id` reused after losing state) and its old ops come
  // back, number new writes after them, or peers would drop them as duplicates.
  #keepOwnSeqAhead(origin: string, seq: number): void {
    if (origin === this.id && seq > this.#seq) this.#seq = seq;
  }

  /**
   * Solo: this replica is the only one (a hub without peers). Its horizon is then its own
   * clock, so its own writes are final once stamped: they are folded in at once, with no op
   * record kept, and accounted as folded (a peer that shows up later starts from a snapshot).
   * Turning solo on folds everything held first.
   */
  setSolo(solo: boolean): void {
    if (solo && !this.#solo) this.collect(this.#clock.ceiling());
    this.#solo = solo;
  }

  #record(op: Op): void {
    this.#keepOwnSeqAhead(op.stamp.node, op.seq);
    this.#clock.observe(op.stamp);
    let restated: Restated;
    if (this.#solo && op.stamp.node === this.id) {
      this.#tree.applyFinal(op, op.stamp.wall);
      this.#tree.advanceTo(op.stamp);
      this.#sequences.folded(this.id, op.seq);
      this.#sequences.foldedAt(op.stamp);
    } else restated = this.#tree.apply(op);
    this.#sequences.set(op.stamp.node, op); // an op is its own version entry: no allocation
    this.#watchers.notify(op);
    this.#onApplied?.(op, restated);
  }

  /**
   * Applies again, telling no one, the ops this replica applied before it restarted (read back
   * from its log on disk, in the order they were applied): one it holds is skipped, one after a
   * gap in its origin's sequence is held ahead of the vector, as from a delta.
   */
  restore(ops: readonly Op[]): void {
    for (const op of ops) {
      if (this.#sequences.has(op)) continue;
      const origin = op.stamp.node;
      this.#clock.observe(op.stamp);
      this.#tree.apply(op);
      if (op.seq === this.#sequences.seq(origin) + 1) this.#advance(origin, op);
      else {
        this.#sequences.markAhead(origin, op.seq, op.stamp);
        this.#keepOwnSeqAhead(origin, op.seq);
      }
    }
  }

  /**
   * Applies an op of the live stream of its origin: a duplicate is ignored, and an op that
   * skips a sequence number is refused as a `'gap'` (the caller resyncs with a delta).
   */
  apply(op: Op): ApplyResult {
    const origin = op.stamp.node;
    const have = this.#sequences.seq(origin);
    if (op.seq <= have) return 'duplicate';
    if (op.seq !== have + 1) return 'gap';
    if (!this.#sequences.holdsAhead(origin)) {
      // The live stream's case: #record moves the vector to the op, and nothing lies beyond it.
      this.#record(op);
      return 'applied';
    }
    if (this.#sequences.isAhead(origin, op.seq)) {
      // Already applied from a delta still arriving: only the vector moves.
      this.#advance(origin, op);
      return 'duplicate';
    }
    this.#record(op);
    this.#advance(origin, op);
    return 'applied';
  }

  #advance(origin: string, entry: VersionEntry): void {
    this.#keepOwnSeqAhead(origin, this.#sequences.advance(origin, entry));
  }

  /** The last contiguous seq of `origin` applied (0 for none): one entry of the vector, without building it. */
  seqOf(origin: string): number {
    return this.#sequences.seq(origin);
  }

  /**
   * Whether GC has folded (or dropped) every op applied: each origin's latest op is at or below
   * the fold point, so a snapshot now holds folded values and no op records.
   */
  foldedThrough(): boolean {
    return this.#sequences.foldedThrough();
  }

  /** How many ops this replica holds as records, not folded yet (see Sequences.unfolded). */
  unfoldedOps(): number {
    return this.#sequences.unfolded();
  }

  /** This replica's version vector: per origin, the last contiguous seq applied. */
  vector(): VersionVector {
    return this.#sequences.vector();
  }

  /**
   * Moves this replica's clock past `stamp`, read from another replica (its clock, or the
   * horizon it folded at): every write stamped here from now on is ordered after it.
   */
  observe(stamp: Stamp): void {
    this.#clock.observe(stamp);
  }

  /** The clock's ceiling: this replica never stamps at or below it again (see HybridClock). */
  clockCeiling(): Stamp {
    return this.#clock.ceiling();
  }

  /** The vector and the clock reading, taken together, for GC horizons. */
  frontier(): Frontier {
    const held = this.#sequences.held();
    const folded = this.#sequences.foldedTo;
    // Read now, not at the last write: every op this hub stamps later is after it, so the
    // horizon moves on while the group is quiet.
    this.#clock.advance();
    const frontier: Frontier = { id: this.id, clock: this.#clock.ceiling(), vector: this.vector(), ...(folded === undefined ? {} : { folded }) };
    return held === undefined ? frontier : { ...frontier, held };
  }

  /**
   * What a replica at `vector` lacks. Overwritten ops are never sent; the sender's vector lets
   * the receiver account for them. Past what GC folded, only a full snapshot can help.
   */
  delta(vector: Readonly<Record<string, { readonly seq: number } | undefined>>): Delta {
    if (this.#sequences.behindFold(vector)) return { kind: 'snapshot', snapshot: this.snapshot() };
    const ops: Op[] = [];
    for (const op of this.#tree.ops()) if (op.seq > (vector[op.stamp.node]?.seq ?? 0)) ops.push(op);
    ops.sort((a, b) => compareStamps(a.stamp, b.stamp));
    return { kind: 'ops', ops, vector: this.vector(), clock: this.#clock.peek() };
  }

  /**
   * This replica's own ops held past `seq` (not overwritten, not folded), in seq order, and the
   * seq they follow: past `seq` where GC folded further (every member held those ops then).
   */
  ownOpsAfter(seq: number): { from: number; ops: Op[] } {
    const from = Math.max(seq, this.#sequences.foldedSeq(this.id));
    const ops: Op[] = [];
    for (const op of this.#tree.ops()) if (op.stamp.node === this.id && op.seq > from) ops.push(op);
    ops.sort((a, b) => a.seq - b.seq);
    return { from, ops };
  }

  /** Applies what another replica's `delta()` returned. */
  applyDelta(delta: Delta): void {
    if (delta.kind === 'snapshot') {
      this.adoptSnapshot(delta.snapshot);
      return;
    }
    const receiver = this.receiveDelta(delta.clock);
    receiver.apply(delta.ops);
    receiver.end(delta.vector);
  }

  /**
   * Applies a delta that arrives in pieces (a big one is sent in several frames): `apply` each
   * piece of ops as it comes, then `end` with the sender's vector. Ops this replica held when
   * the delta began are skipped; the vector is only advanced at the end.
   */
  receiveDelta(clock: Stamp): { apply(ops: readonly Op[]): void; end(vector: VersionVector): void } {
    this.#clock.observe(clock);
    return {
      apply: (ops) => {
        for (const op of ops) {
          const origin = op.stamp.node;
          // Most ops of a piece (a Redis entry, a peer's run) continue their origin's vector,
          // nothing of it held ahead: recorded as the live stream's are (see apply), with no
          // lookup of whether they were applied before.
          if (origin !== this.id && op.seq === this.#sequences.seq(origin) + 1 && !this.#sequences.holdsAhead(origin)) {
            this.#record(op);
            continue;
          }
          // Never twice: not what the vector covers, nor what an earlier piece (of this delta,
          // another peer's, or one cut off halfway) already applied.
          if (this.#sequences.has(op)) continue;
          const contiguous = op.seq === this.#sequences.seq(origin) + 1;
          this.#clock.observe(op.stamp);
          const restated = this.#tree.apply(op);
          this.#watchers.notify(op);
          this.#onApplied?.(op, restated);
          if (contiguous) this.#advance(origin, op);
          else this.#sequences.markAhead(origin, op.seq, op.stamp);
        }
      },
      // The sender's vector covers what it skipped as overwritten, too.
      end: (vector) => {
        for (const [origin, entry] of Object.entries(vector)) this.#advance(origin, entry);
      },
    };
  }

  /** Whether writes made enough nodes since the last fold (see ReplicatedTree.foldDue). */
  get foldDue(): boolean {
    return this.#tree.foldDue;
  }

  /** Sets how many nodes writes make between folds (see ReplicatedTree.foldEvery, FoldPacing). */
  set foldEvery(nodes: number) {
    this.#tree.foldEvery = nodes;
  }

  /**
   * Folds every op stamped at or below `horizon` away (see `computeHorizon`). Afterwards the
   * replica keeps no metadata for them, only their effect.
   */
  collect(horizon: Stamp): void {
    for (const [origin, seq] of this.#tree.collect(horizon)) this.#sequences.folded(origin, seq);
    this.#sequences.foldedAt(horizon);
  }

  /**
   * Op `seq` of `origin`, a replica gone for good, exists nowhere any more: every live replica
   * holds the same of its ops up to just before it, and some hold ops of it after (the mesh's
   * membership tells when, mesh/membership.ts). The vector moves through it, so that those
   * after it count as held in order, and GC stops waiting for it. Returns whether it moved.
   */
  forgetLost(origin: NodeId, seq: number): boolean {
    return this.#sequences.skip(origin, seq);
  }

  /** The highest GC horizon this replica folded at, if any. */
  get foldedTo(): Stamp | undefined {
    return this.#sequences.foldedTo;
  }

  /**
   * Whether `op` is new here but stamped at or below the horizon this replica folded at: it
   * cannot be applied correctly, so it must be refused. Only a hub that wrote before it ever
   * linked to the group, while the group folded past its stamps, can send one. Also when it is
   * at or below a horizon another replica folded at while this one held all it held then
   * (`heardFold`): the group must refuse it everywhere, or the replicas that took it could
   * never link to those that folded past it again.
   */
  isLate(op: Op): boolean {
    return this.#sequences.isLate(op);
  }

  /**
   * Another replica of the group told that it folded at `horizon`, and holds `vector` now.
   * From then on, ops new here and stamped at or below that horizon are late too (`isLate`),
   * once this replica holds all that one held. Returns whether that bound moved.
   */
  heardFold(horizon: Stamp, vector: VersionVector): boolean {
    return this.#sequences.heardFold(horizon, vector);
  }

  /**
   * When some op of this replica is stamped at or below `folded` (a group folded past it),
   * gives every op a new stamp after `after` (at or past `folded`), in the same order, so that
   * the group can take them. Only possible while this replica holds nothing but its own ops,
   * none folded and none shared yet (the caller knows the last): the values do not change,
   * only the stamps. Returns whether it restamped.
   */
  restampOwn(folded: Stamp, after: Stamp = folded): boolean {
    if (!this.#sequences.onlyFrom(this.id)) return false;
    const own = this.#sequences.seq(this.id);
    if (own === 0) return false;
    const records = new Map<number, Op>();
    for (const op of this.#tree.ops()) records.set(op.seq, op);
    const ordered = [...records.values()].sort((a, b) => compareStamps(a.stamp, b.stamp));
    if (ordered.length === 0 || isAfter(ordered[0]!.stamp, folded)) return false;
    this.#clock.observe(folded);
    this.#clock.observe(after);
    const fresh = new ReplicatedTree();
    const restamped = ordered.map((op) => ({ ...op, stamp: this.#clock.tick() }));
    for (const op of restamped) fresh.apply(op);
    this.#tree.takeOver(fresh);
    // The vector's entry carries the stamp of this origin's latest op, as every receiver of the
    // restamped ops will record it (a fresh tick here would make the vectors differ).
    this.#sequences.set(this.id, { seq: own, stamp: restamped[restamped.length - 1]!.stamp });
    this.#onRestamped?.(restamped);
    return true;
  }

  /** How many watch listeners are registered. */
  watcherCount(): number {
    return this.#watchers.size;
  }

  /** Bookkeeping held besides the data. */
  metadata(): TreeMetadata {
    return this.#tree.metadata();
  }

  /**
   * The whole state, for JSON text (`JSON.stringify`, or `jsonSlices` over several turns):
   * parents GC folds into in place come as readings of them as they are now (see BaseReading),
   * which only those two encode; parse the text to get plain JSON. Those readings are taken
   * into `readings`, if given: end them once the text is written.
   */
  snapshot(readings?: SnapshotReadings): ReplicaSnapshot {
    const latest = this.#tree.latest();
    const clock = this.#clock.peek();
    const snapshot: ReplicaSnapshot = {
      v: 1,
      clock: [clock.wall, clock.count, clock.node],
      ...this.#sequences.encode(),
      tree: encodeNode(this.#tree.root, readings),
    };
    if (latest !== undefined) snapshot.latest = [latest.wall, latest.count, latest.node];
    return snapshot;
  }

  /**
   * Adopts another replica's snapshot (checked whole first: a malformed one throws and changes
   * nothing), then re-applies what this replica held that the snapshot lacks. A fresh replica
   * simply takes the snapshot.
   */
  adoptSnapshot(snapshot: ReplicaSnapshot): void {
    this.adoptReplica(Replica.fromSnapshot(snapshot, { id: this.id, ...this.limits }));
  }

  /**
   * `adoptSnapshot` of a snapshot already decoded, and so checked whole, into `incoming` (which
   * is taken over: not to be used after).
   */
  adoptReplica(incoming: Replica): void {
    const theirs = incoming.vector();
    const mine = this.vector();
    const missing = [...this.#tree.ops()].filter((op) => op.seq > (theirs[op.stamp.node]?.seq ?? 0));
    missing.sort((a, b) => compareStamps(a.stamp, b.stamp));
    this.#refuseLateMerge(incoming, missing);
    this.#adopt(incoming);
    this.applyDelta({ kind: 'ops', ops: missing, vector: mine, clock: this.#clock.peek() });
    // The snapshot may hold records at or below the horizon this replica had folded at (its
    // sender folded less far): fold them now. A horizon is a horizon, wherever it was computed,
    // and GC only folds again once it moves past this one.
    const folded = this.foldedTo;
    if (folded !== undefined) this.collect(folded);
    this.#watchers.resync(this.id);
    this.#onReplaced?.();
  }

  // A merge must not place an op below a fold any more than a frame may (see isLate): neither
  // an op of this replica's that the snapshot folded past (this hub wrote below the group's
  // horizon, with a clock behind, and can no longer restamp), nor one of the snapshot's that
  // this replica folded past. Throws, changing nothing.
  #refuseLateMerge(incoming: Replica, missing: readonly Op[]): void {
    const theirs = incoming.foldedTo;
    const late = theirs === undefined ? undefined : missing.find((op) => !isAfter(op.stamp, theirs));
    if (late !== undefined) {
      throw new ProtocolError(
        `this hub's op ${late.stamp.node}#${late.seq} is stamped below what the sender's group folded: ` +
          'it wrote with a clock behind before it joined, and could not restamp; restart this hub without its state',
        'ERR_COLLECTIVE_BELOW_HORIZON',
      );
    }
    const mine = this.foldedTo;
    if (mine === undefined) return;
    // What this replica folded is in no record any more: a snapshot without it would lose it.
    if (this.#sequences.behindFoldOf(incoming.#sequences)) {
      throw new ProtocolError('the snapshot lacks ops this hub folded (everyone had them when it did)', 'ERR_COLLECTIVE_BELOW_HORIZON');
    }
    for (const op of incoming.#tree.ops()) {
      if (this.isLate(op)) throw new ProtocolError(`the snapshot holds op ${op.stamp.node}#${op.seq}, stamped below what this hub folded`, 'ERR_COLLECTIVE_BELOW_HORIZON');
    }
    // Ops the snapshot folded that this replica lacks are stamped at or below its horizon: if
    // that is not after this replica's, they are below this replica's fold too.
    if (theirs !== undefined && !isAfter(theirs, mine) && incoming.#sequences.behindFoldOf(this.#sequences)) {
      throw new ProtocolError('the snapshot folded ops this hub lacks below what this hub folded', 'ERR_COLLECTIVE_BELOW_HORIZON');
    }
  }

  #adopt(other: Replica): void {
    this.#tree.takeOver(other.#tree);
    this.#sequences.adopt(other.#sequences);
    for (const [origin, entry] of Object.entries(this.#sequences.vector())) this.#keepOwnSeqAhead(origin, entry.seq);
    const latest = other.#tree.latest();
    if (latest !== undefined) this.#clock.observe(latest);
  }

  /**
   * A replica restored from a snapshot. Give it a new id (a hub that lost its state must not
   * reuse the sequence numbers of its old self), or the id the snapshot was its own under (a
   * hub restarted from its disk: its writes are numbered on after the ones it holds). `owned`:
   * the snapshot is fresh from JSON.parse and nobody else holds it, so its values are frozen in
   * place rather than copied.
   */
  static fromSnapshot(snapshot: ReplicaSnapshot, options: ReplicaOptions = {}, owned = false): Replica {
    const replica = new Replica(options);
    if (typeof snapshot !== 'object' || snapshot === null || snapshot.v !== 1) throw new TypeError('malformed snapshot');
    const sequences = Sequences.decode(snapshot);
    replica.#sequences = sequences;
    const ops: Op[] = [];
    decodeNodeInto(replica.#tree.root, snapshot.tree, [], owned ? { ...replica.limits, adopt: true } : replica.limits, ops);
    let latest: Stamp | undefined;
    if (snapshot.latest !== undefined) {
      const [wall, counter, node] = snapshot.latest;
      latest = decodeStamp(wall, counter, node);
    }
    for (const op of ops) {
      if (latest === undefined || isAfter(op.stamp, latest)) latest = op.stamp;
      if (!sequences.has(op)) throw new TypeError('malformed snapshot: op beyond its vector');
    }
    replica.#tree.restored(latest);
    if (latest !== undefined) replica.#clock.observe(latest);
    if (sequences.foldedTo !== undefined) replica.#clock.observe(sequences.foldedTo);
    if (!Array.isArray(snapshot.clock)) throw new TypeError('malformed snapshot clock');
    replica.#clock.observe(decodeStamp(snapshot.clock[0], snapshot.clock[1], snapshot.clock[2]));
    for (const entry of Object.values(sequences.vector())) replica.#clock.observe(entry.stamp);
    // Its own snapshot, read back from disk: its writes go on after the ones it holds.
    replica.#keepOwnSeqAhead(replica.id, sequences.seq(replica.id));
    return replica;
  }
}
