import type { OpKind } from '../core/op.js';
import type { Segments } from '../core/path.js';
import type { JsonValue } from '../core/value.js';
import type { WriteExpiry } from '../core/write-options.js';
import type { ReplayedWrite } from './overlay.js';
import { handled } from '../errors.js';
import { Queue } from './queue.js';
import { WriteLog } from './write-log.js';

/**
 * A write sent to the hub and not yet acknowledged, as the pending writes hand it out: they
 * hold no object per write (see WriteLog), so this is a view, good until the next is asked for
 * (see PendingWrites.finder). Replayed on reads until acknowledged.
 */
export interface PendingWrite {
  readonly id: number;
  readonly kind: OpKind | 'cas';
  readonly path: Segments;
  readonly value: JsonValue | undefined;
  readonly expected: JsonValue | undefined;
  /** What the write asks of expiry (a ttl, or keeping the one armed). */
  readonly expiry: WriteExpiry | undefined;
}

/** What a write holds beyond its kind, path and value, for the few that do (a cas, an expiry). */
interface Extras {
  readonly expected: JsonValue | undefined;
  readonly expiry: WriteExpiry | undefined;
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
  // In id order, removed from the front only (the hub answers in order; a cas waits for its
  // outcome, and the writes after it with it).
  readonly #log = new WriteLog();
  readonly #extras = new Map<number, Extras>();
  // The promises of the writes the hub answers in order, one per message, in id order; and of
  // those it decides (see decidedByHub), one per write, by id.
  #batches = new Queue<Batch>();
  readonly #decided = new Map<number, Batch>();
  // The ids of the same writes by first path segment (cas excluded): a read replays only those.
  readonly #byKey = new Map<string, Queue<number>>();
  #replayed = 0;
  #acknowledged = 0;
  readonly #casOutcomes = new Map<number, boolean>();
  #batch: Batch | undefined;
  #flushWaiters: FlushWaiter[] = [];
  #nextId = 1;

  /** How many writes are pending. */
  get size(): number {
    return this.#log.size;
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
    this.#log.push(kind, path, value);
    if (expected !== undefined || expiry !== undefined) this.#extras.set(id, { expected, expiry });
    if (!decidedByHub(kind)) {
      this.#replayed++;
      let sameKey = this.#byKey.get(path[0]!);
      if (sameKey === undefined) this.#byKey.set(path[0]!, (sameKey = new Queue()));
      sameKey.push(id);
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
    const log = this.#log;
    for (let at = log.firstId; at <= id && log.holds(at); at++) {
      if (decidedByHub(log.kind(at)) && !this.#casOutcomes.has(at)) return true;
    }
    return false;
  }

  /**
   * Finds pending writes by id: a view of the write (one object, filled again at each call: a
   * caller keeps what it needs of it before the next), or undefined for an id not pending.
   */
  finder(): (id: number) => PendingWrite | undefined {
    const log = this.#log;
    const view: { -readonly [K in keyof PendingWrite]: PendingWrite[K] } = { id: 0, kind: 'set', path: [], value: undefined, expected: undefined, expiry: undefined };
    return (id) => {
      if (!log.holds(id)) return undefined;
      const extras = this.#extras.size === 0 ? undefined : this.#extras.get(id);
      view.id = id;
      view.kind = log.kind(id);
      view.path = log.path(id);
      view.value = log.value(id);
      view.expected = extras?.expected;
      view.expiry = extras?.expiry;
      return view;
    };
  }

  /** Settles, in id order, every write the hub has answered. */
  settle(): void {
    const log = this.#log;
    while (log.size > 0) {
      const id = log.firstId;
      if (decidedByHub(log.kind(id))) {
        const told = this.#casOutcomes.get(id);
        const outcome = told ?? (id <= this.#acknowledged ? true : undefined);
        if (outcome === undefined) break;
        this.#casOutcomes.delete(id);
        this.#extras.delete(id);
        log.shift();
        const batch = this.#decided.get(id)!;
        this.#decided.delete(id);
        batch.resolve(outcome);
        continue;
      }
      if (id > this.#acknowledged) break;
      const key = log.path(id)[0]!;
      if (this.#extras.size > 0) this.#extras.delete(id);
      log.shift();
      const sameKey = this.#byKey.get(key)!;
      sameKey.remove(id);
      if (sameKey.length === 0) this.#byKey.delete(key);
      this.#replayed--;
      const batch = this.#batches.peek()!;
      if (id === batch.lastId) {
        this.#batches.remove(batch);
        batch.resolve(undefined);
      }
    }
    if (this.#flushWaiters.length > 0) this.#wakeFlushWaiters();
  }

  #wakeFlushWaiters(): void {
    const pendingFrom = this.#log.size > 0 ? this.#log.firstId : Infinity;
    const waiting: FlushWaiter[] = [];
    for (const waiter of this.#flushWaiters) {
      if (waiter.upTo < pendingFrom) waiter.resolve();
      else waiting.push(waiter);
    }
    this.#flushWaiters = waiting;
  }

  /** Whether a read at a path starting with `key` has pending writes to replay. */
  replaysFor(key: string): boolean {
    return this.#replayed > 0 && this.#byKey.has(key);
  }

  /**
   * The pending writes a read at a path starting with `key` must replay, in order: one view,
   * filled again at each step (the overlay copies the few it keeps), so that a read after
   * thousands of pending writes makes nothing for each.
   */
  replayedFor(key: string): Iterable<ReplayedWrite> | undefined {
    if (this.#replayed === 0) return undefined;
    // cas writes are never in #byKey: the kinds left are replayable ones.
    const ids = this.#byKey.get(key);
    return ids === undefined ? undefined : replayed(this.#log, ids);
  }

  /** Every pending write a read of the whole tree must replay (as `replayedFor`), or undefined if none. */
  allReplayed(): Iterable<ReplayedWrite> | undefined {
    if (this.#replayed === 0) return undefined;
    const ids: number[] = [];
    for (let id = this.#log.firstId; this.#log.holds(id); id++) if (!decidedByHub(this.#log.kind(id))) ids.push(id);
    return replayed(this.#log, ids);
  }

  /** Resolves once every write made so far is settled. */
  flushed(): Promise<void> {
    if (this.#log.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#flushWaiters.push({ upTo: this.#nextId - 1, resolve }));
  }

  /** Rejects every pending write with `error` and wakes every flush waiter. */
  rejectAll(error: Error): void {
    const batches = [...this.#batches, ...this.#decided.values()];
    this.#log.clear(this.#nextId);
    this.#extras.clear();
    this.#batches = new Queue();
    this.#decided.clear();
    this.#byKey.clear();
    this.#replayed = 0;
    this.#batch = undefined;
    for (const batch of batches) batch.reject(error);
    for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
  }
}

// The writes `ids` of `log`, walked through one view of them.
function replayed(log: WriteLog, ids: Iterable<number>): Iterable<ReplayedWrite> {
  return {
    [Symbol.iterator](): Iterator<ReplayedWrite> {
      const walk = ids[Symbol.iterator]();
      const view: { -readonly [K in keyof ReplayedWrite]: ReplayedWrite[K] } = { kind: 'set', path: [], value: undefined };
      const step = { done: false, value: view };
      return {
        next: (): IteratorResult<ReplayedWrite> => {
          const id = walk.next();
          if (id.done === true) return { done: true, value: undefined };
          view.kind = log.kind(id.value) as OpKind;
          view.path = log.path(id.value);
          view.value = log.value(id.value);
          return step;
        },
      };
    },
  };
}
