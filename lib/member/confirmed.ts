import { CEILING_NODE, type NodeId, type Stamp } from '../core/clock.js';
import { ExpiryTimer, turnClock } from '../core/expiry-timer.js';
import type { TreeMetadata } from '../core/fold.js';
import type { LazyList } from '../core/lazy-list.js';
import type { SnapshotReadings } from '../core/live-readings.js';
import { ABSENT, type Slot } from '../core/node.js';
import { newOp, type Op } from '../core/op.js';
import type { Segments } from '../core/path.js';
import type { Due } from '../core/schedule.js';
import { ReplicatedTree, type FinalOp } from '../core/tree.js';
import type { JsonValue } from '../core/value.js';
import { Watchers } from '../core/watchers.js';
import { encodeSnapshotArmed } from '../wire/armed.js';
import type { StreamItem } from '../wire/member.js';

// A member applies its hub's stream in the hub's order: stamps are the stream positions, so
// every item is the newest and takes the tree's O(depth) path.
const STREAM = 'stream' as NodeId;
const positionStamp = (position: number): Stamp => ({ wall: 0, count: position, node: STREAM });

/**
 * What the hub has confirmed to a member, without the member's pending writes: the hub's state
 * at a position of its stream, from a snapshot and the stream items after it, with the watchers
 * that hear of its changes and the timer that tells them of expiries as they come due.
 */
export class ConfirmedTree {
  /** Watchers of the confirmed state: they hear of what the hub confirmed, not of pending writes. */
  readonly watchers = new Watchers((path) => this.get(path));
  readonly #clock = turnClock();
  #tree = new ReplicatedTree(this.#clock);
  // Tells watchers of expiries as they come due (the tree hides them until the hub's horizon
  // passes them, then folds them away). Armed once a snapshot is adopted, until `stop`.
  readonly #expiryTimer = new ExpiryTimer(
    () => this.#tree.nextDue(),
    () => this.#expired(),
  );
  #live = false;
  #position = 0;
  #hub = '' as NodeId;
  // The op an item is applied as: one object filled again for each (applyFinal keeps none),
  // rather than one made per item of every stream message.
  readonly #itemOp: { -readonly [K in keyof FinalOp]: FinalOp[K] } = { kind: 'set', path: [], value: undefined, expireAt: undefined, keepTtl: undefined };

  /** The last position of the hub's stream applied. */
  get position(): number {
    return this.#position;
  }

  /** The tree the confirmed state is in now: a new one at each snapshot. For caches of reads. */
  get tree(): ReplicatedTree {
    return this.#tree;
  }

  /** The hub's node id ('' before a snapshot). */
  get hub(): string {
    return this.#hub;
  }

  /** The value at `path` (deep-frozen), or undefined. */
  get(path: Segments): JsonValue | undefined {
    const value = this.#tree.get(path);
    return value === ABSENT ? undefined : value;
  }

  /** The value at `path`, ABSENT for none: what a member's pending writes are replayed on. */
  slot(path: Segments): Slot {
    return path.length === 0 ? this.#tree.getAll() : this.#tree.get(path);
  }

  /** The whole tree. */
  getAll(): JsonValue {
    return this.#tree.getAll();
  }

  /** Milliseconds before the value at `path` expires, by this process's clock (see ReplicatedTree.ttl). */
  ttl(path: Segments): number | undefined {
    return this.#tree.ttl(path);
  }

  /** Nodes and op records the tree holds beyond its data. */
  metadata(): TreeMetadata {
    return this.#tree.metadata();
  }

  /** Takes the hub's snapshot at position `at`: `tree`, with `armed` due at their times. */
  adopt(tree: JsonValue, at: number, armed: readonly Due[], hub: NodeId): void {
    this.#tree = ReplicatedTree.fromValue(tree, positionStamp(at), armed, this.#clock);
    this.#position = at;
    this.#hub = hub;
  }

  /**
   * The snapshot adopted is the member's now: watchers hear of whatever changed from the state
   * held before, and of expiries as they come due, until `stop`.
   */
  live(): void {
    this.#live = true;
    this.watchers.resync(this.#hub);
    this.#expiryTimer.arm();
  }

  /**
   * Applies the stream item at the next position (one at or before the position is skipped).
   * False for a gap: the hub skipped a position, which an ordered and reliable link never
   * does; nothing is applied, and the member starts over from a snapshot.
   */
  apply(item: StreamItem): boolean {
    if (item.n <= this.#position) return true;
    if (item.n !== this.#position + 1) return false;
    this.#position = item.n;
    const time = item.w ?? Number.NEGATIVE_INFINITY;
    if (item.r === 1) {
      this.#tree.sawTime(time);
      this.#tree.restate(item.p, item.v === undefined ? ABSENT : item.v, (item.m ?? []).map(([path, at]) => ({ path, at })), item.c === 1);
    } else {
      const op = this.#itemOp;
      op.kind = item.k;
      op.path = item.p;
      op.value = item.v;
      op.expireAt = item.x;
      op.keepTtl = item.q === 1 ? true : undefined;
      this.#tree.applyFinal(op, time);
      op.value = undefined; // not held past its item
    }
    if (item.x !== undefined || item.m !== undefined || item.k === 'ttl') this.#expiryTimer.arm();
    this.#applied(item.k, item.p, item.v, item.o);
    return true;
  }

  /**
   * `apply` for the item at `position` that is this member's own write `write`, made with no
   * expiry option (the hub streamed it back as its id; `time`: the write's time, if it came
   * with one): applied as it is held, with nothing made for it.
   */
  applyOwn(position: number, write: FinalOp, time: number | undefined): boolean {
    if (position <= this.#position) return true;
    if (position !== this.#position + 1) return false;
    this.#position = position;
    this.#tree.applyFinal(write, time ?? Number.NEGATIVE_INFINITY);
    this.#applied(write.kind, write.path, write.value, this.#hub);
    return true;
  }

  // After an item was applied: a fold now and then, and the watchers told.
  #applied(kind: Op['kind'], path: Segments, value: JsonValue | undefined, origin: string): void {
    // applyFinal keeps no op records, only nodes (a deleted path stays a node until folded):
    // fold now and then (FOLD_EVERY says why not at every item).
    if (this.#tree.foldDue) this.#tree.collect(positionStamp(this.#position));
    if (this.watchers.size === 0) return;
    this.watchers.notify(newOp(kind, path, this.#position, positionStamp(this.#position), value), origin as NodeId);
  }

  /**
   * The hub's horizon: nothing made before `time` can come any more, so every expiry due by
   * then fires for good here too, folded away as a hub's GC does (the tree holds no op records:
   * only expired subtrees and subtrees with an expiry to fold). Watchers not told yet hear of it.
   */
  horizon(time: number): void {
    for (const entry of this.#tree.takeDue(time)) this.watchers.notifyExpired(entry.path, this.#hub);
    this.#tree.collect({ wall: time, count: Number.MAX_SAFE_INTEGER, node: CEILING_NODE });
  }

  /**
   * The whole state, for a snapshot of this member's own members: `armed` says what is due
   * when. `overTurns`: see ReplicatedTree.export (`readings`: end them once it is written).
   */
  export(overTurns: boolean): { tree: JsonValue; armed: [string[], number][] | LazyList; readings: SnapshotReadings | undefined } {
    const { value, armed, armedFolded, readings } = this.#tree.export([], overTurns);
    return { tree: value === ABSENT ? {} : value, armed: encodeSnapshotArmed(armed, armedFolded), readings };
  }

  /** No more expiries are told (the member closed). */
  stop(): void {
    this.#live = false;
    this.#expiryTimer.stop();
  }

  // Expiries came due by this process's clock: watchers hear of them, once each. The tree only
  // hides them until the hub says nothing made before them can come any more.
  #expired(): void {
    if (!this.#live) return;
    for (const entry of this.#tree.takeDue(this.#tree.readTime())) this.watchers.notifyExpired(entry.path, this.#hub);
  }
}
