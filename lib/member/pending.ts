import type { OpKind } from '../core/op.js';
import type { Segments } from '../core/path.js';
import type { JsonValue } from '../core/value.js';
import type { WriteExpiry } from '../core/write-options.js';
import type { ReplayedWrite } from './overlay.js';
import { handled } from '../errors.js';
import { Queue } from './queue.js';

/**
 * A write sent to the hub and not yet acknowledged. Replayed on reads until it is. Held for as
 * long as the hub takes to apply it, which under a burst is hundreds of thousands of writes:
 * it holds only what reads and the hub's answers need (its promise is its batch's, held apart).
 */
export interface PendingWrite {
  readonly id: number;
  readonly kind: OpKind | 'cas';
  readonly path: Segments;
  readonly value: JsonValue | undefined;
  readonly expected?: JsonValue;
  /** What the write asks of expiry (a ttl, or keeping the one armed). */
  readonly expiry?: WriteExpiry;
}

/**
 * Writes that leave in one message share one promise, resolved when the last of them is
 * acknowledged (the hub applies a message's intents together, so their acknowledgements come
 * together too). One promise per message instead of per write keeps a burst of writes from
 * filling the heap with promises that the GC must then move.
 */
interface Batch {
  readonly promise: Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  lastId: number;
}

interface FlushWaiter {
  /** Resolve once no write with an id at or below this is pending. */
  readonly upTo: number;
  readonly resolve: () => void;
}

/**
 * Whether the hub decides what a write does, and answers it alone (its own promise, never
 * replayed on reads): a cas, and a `ttl` (nothing at its path, nothing armed).
 */
function decidedByHub(kind: OpKind | 'cas'): boolean {
  return kind === 'cas' || kind === 'ttl';
}

function newBatch(): Batch {
  let resolve!: (value: unknown) => void;
  let reject!: (error: Error) => void;
  const promise = handled(
    new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    }),
  );
  return { promise, resolve, reject, lastId: 0 };
}

/**
 * A member's writes between being made and being acknowledged by its hub: their ids, their
 * promises, what reads must replay on top of the confirmed state, and `flush()` waiters.
 * The hub applies a member's intents in id order, so acknowledgement is "everything up to id
 * N"; a cas waits for its own outcome.
 */
export class PendingWrites {
  // In id order; removal is almost always from the front.
  #queue = new Queue<PendingWrite>();
  // The promises of the writes the hub answers in order, one per message, in id order; and of
  // those it decides (see decidedByHub), one per write, by id.
  #batches = new Queue<Batch>();
  readonly #decided = new Map<number, Batch>();
  // The same writes by first path segment (cas excluded): a read replays only those.
  readonly #byKey = new Map<string, Queue<PendingWrite>>();
  #replayed = 0;
  #acknowledged = 0;
  readonly #casOutcomes = new Map<number, boolean>();
  #batch: Batch | undefined;
  #flushWaiters: FlushWaiter[] = [];
  #nextId = 1;

  /** How many writes are pending. */
  get size(): number {
    return this.#queue.length;
  }

  /** The id of the last write added. */
  get lastId(): number {
    return this.#nextId - 1;
  }

  /** Records a new write (its id: `lastId`); returns the promise its caller gets. */
  add(kind: OpKind | 'cas', path: Segments, value: JsonValue | undefined, expected?: JsonValue, expiry?: WriteExpiry): Promise<unknown> {
    const id = this.#nextId++;
    let batch: Batch;
    if (decidedByHub(kind)) this.#decided.set(id, (batch = newBatch()));
    else {
      batch = this.#batch ?? this.#openBatch();
      batch.lastId = id;
    }
    const write: { -readonly [K in keyof PendingWrite]: PendingWrite[K] } = { id, kind, path, value };
    if (expected !== undefined) write.expected = expected;
    if (expiry !== undefined) write.expiry = expiry;
    this.#queue.push(write);
    if (!decidedByHub(kind)) {
      this.#replayed++;
      let sameKey = this.#byKey.get(path[0]!);
      if (sameKey === undefined) this.#byKey.set(path[0]!, (sameKey = new Queue()));
      sameKey.push(write);
    }
    return batch.promise;
  }

  #openBatch(): Batch {
    const batch = newBatch();
    this.#batch = batch;
    this.#batches.push(batch);
    return batch;
  }

  /** Writes added from now on leave in the next message, with a promise of their own. */
  endBatch(): void {
    this.#batch = undefined;
  }

  /** The hub applied every intent of this member up to `id`. */
  acknowledgeUpTo(id: number): void {
    if (id > this.#acknowledged) this.#acknowledged = id;
  }

  /** The hub decided cas `id` (a failure comes as a reply, a success with the acknowledgement). */
  casOutcome(id: number, applied: boolean): void {
    this.#casOutcomes.set(id, applied);
  }

  /** Whether a cas at or below `id` is still waiting for its outcome. */
  casUndecidedUpTo(id: number): boolean {
    for (const write of this.#queue) {
      if (write.id > id) return false;
      if (decidedByHub(write.kind) && !this.#casOutcomes.has(write.id)) return true;
    }
    return false;
  }

  /**
   * Finds pending writes by id, for ids asked in increasing order (the hub streams a member's
   * own writes back as their ids, in the order it applied them): one walk of the queue for a
   * whole stream message, however many of its writes it names.
   */
  finder(): (id: number) => PendingWrite | undefined {
    const walk = this.#queue[Symbol.iterator]();
    let current = walk.next();
    return (id) => {
      while (!current.done && current.value.id < id) current = walk.next();
      return !current.done && current.value.id === id ? current.value : undefined;
    };
  }

  /** Settles, in id order, every write the hub has answered. */
  settle(): void {
    for (let write = this.#queue.peek(); write !== undefined; write = this.#queue.peek()) {
      if (decidedByHub(write.kind)) {
        const told = this.#casOutcomes.get(write.id);
        const outcome = told ?? (write.id <= this.#acknowledged ? true : undefined);
        if (outcome === undefined) break;
        this.#casOutcomes.delete(write.id);
        this.#queue.remove(write);
        const batch = this.#decided.get(write.id)!;
        this.#decided.delete(write.id);
        batch.resolve(outcome);
        continue;
      }
      if (write.id > this.#acknowledged) break;
      this.#queue.remove(write);
      const sameKey = this.#byKey.get(write.path[0]!)!;
      sameKey.remove(write);
      if (sameKey.length === 0) this.#byKey.delete(write.path[0]!);
      this.#replayed--;
      const batch = this.#batches.peek()!;
      if (write.id === batch.lastId) {
        this.#batches.remove(batch);
        batch.resolve(undefined);
      }
    }
    if (this.#flushWaiters.length > 0) this.#wakeFlushWaiters();
  }

  #wakeFlushWaiters(): void {
    const pendingFrom = this.#queue.peek()?.id ?? Infinity;
    const waiting: FlushWaiter[] = [];
    for (const waiter of this.#flushWaiters) {
      if (waiter.upTo < pendingFrom) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#flushWaiters = waiting;
  }

  /** The pending writes a read at a path starting with `key` must replay, in order. */
  replayedFor(key: string): Iterable<ReplayedWrite> | undefined {
    if (this.#replayed === 0) return undefined;
    // cas writes are never in #byKey: the kinds left are replayable ones. Iterated in place,
    // not copied: a read may come after every one of thousands of pending writes.
    return this.#byKey.get(key) as Iterable<ReplayedWrite> | undefined;
  }

  /** Every pending write a read of the whole tree must replay, or undefined if none. */
  allReplayed(): readonly ReplayedWrite[] | undefined {
    if (this.#replayed === 0) return undefined;
    return [...this.#queue].filter((write) => !decidedByHub(write.kind)) as ReplayedWrite[];
  }

  /** Resolves once every write made so far is settled. */
  flushed(): Promise<void> {
    if (this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#flushWaiters.push({ upTo: this.#nextId - 1, resolve }));
  }

  /** Rejects every pending write with `error` and wakes every flush waiter. */
  rejectAll(error: Error): void {
    const batches = [...this.#batches, ...this.#decided.values()];
    this.#queue = new Queue();
    this.#batches = new Queue();
    this.#decided.clear();
    this.#byKey.clear();
    this.#replayed = 0;
    this.#batch = undefined;
    for (const batch of batches) batch.reject(error);
    for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
  }
}
