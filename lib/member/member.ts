import { EventEmitter } from 'node:events';
import { ClosedError, NotReadyError, ProtocolError, TimeoutError, describe, inputTypeError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { DEFAULTS } from '../defaults.js';
import { CEILING_NODE, type NodeId, type Stamp } from '../core/clock.js';
import { ABSENT } from '../core/node.js';
import type { LazyList } from '../core/lazy-list.js';
import type { Op, OpKind } from '../core/op.js';
import { DEFAULT_MAX_DEPTH, parsePath, readPath, type Path, type Segments } from '../core/path.js';
import { ExpiryTimer, turnClock } from '../core/expiry-timer.js';
import type { Due } from '../core/schedule.js';
import type { TreeMetadata } from '../core/fold.js';
import { FOLD_EVERY, ReplicatedTree, type FinalOp } from '../core/tree.js';
import { DEFAULT_MAX_VALUE_BYTES, toStoredValue, type JsonInput, type JsonValue } from '../core/value.js';
import { checkTtl, writeExpiry, type ExpiryOptions, type SetOptions, type WriteExpiry } from '../core/write-options.js';
import { setArguments, wantsDurable, type DurableOption, type Operation } from '../operations.js';
import { Watchers, type WatchListener } from '../core/watchers.js';
import type { Link } from '../links/link.js';
import {
  decodeHubMessage,
  encodeIntent,
  helloMessage,
  isPlainIntent,
  type DecodedHubMessage,
  type MemberIdentity,
  type MemberMessage,
  type ServedMember,
  type OwnEntry,
  type StreamItem,
  type WireReply,
} from '../wire/member.js';
import { encodeSnapshotArmed } from '../wire/armed.js';
import { DurableRequests } from './durable-requests.js';
import { overlay, type ReplayedWrite } from './overlay.js';
import { PendingWrites, handled, type PendingWrite } from './pending.js';

/** Options of a member. */
export interface MemberOptions {
  /**
   * How long `ready()` waits for the hub to answer before it rejects: from the start, then
   * again for as long as the snapshot keeps arriving (where the link counts what it received).
   * @default 5000
   */
  readyTimeout?: number;
  /** Deepest path accepted. @default 32 */
  maxDepth?: number;
  /** Largest value accepted, in bytes of JSON. @default 1048576 (1 MiB) */
  maxValueBytes?: number;
  /** Who this member is, told to its hub (stats, dashboard). @default { pid: process.pid } */
  self?: MemberIdentity;
}

/** A member's counters. */
export interface MemberStats {
  /** This member's number at its hub (0 until ready). */
  member: number;
  /** The hub's node id ('' until ready). */
  hub: string;
  ready: boolean;
  /** Writes sent and not yet acknowledged by the hub. */
  pending: number;
  /** Position in the hub's stream. */
  position: number;
  /** Nodes and op records this member's tree holds beyond its data (expired subtrees go once the hub's horizon passes them). */
  metadata: TreeMetadata;
}

// The member applies its hub's stream in the hub's order: stamps are the stream positions, so
// every item is the newest and takes the tree's O(depth) path.
const STREAM = 'stream' as NodeId;
const positionStamp = (position: number): Stamp => ({ wall: 0, count: position, node: STREAM });

/**
 * What a member tells a relay of its own members (the threads of a cluster worker): each stream
 * message it applied, with how far the hub acknowledged this member's intents and the hub's
 * replies to them; and each snapshot it took, with the intents that snapshot acknowledged.
 */
export interface MemberEvents {
  ready: [];
  close: [];
  stream: [items: readonly StreamItem[], acked: number | undefined, replies: readonly WireReply[], horizon: number | undefined];
  snapshot: [acked: number];
}

/** The confirmed state of a member (without its pending writes), for its own members' snapshots. */
export interface ConfirmedState {
  hub: string;
  at: number;
  /**
   * What no expiry fired for good yet: `armed` says what is due when ([path, time]). Taken
   * `overTurns`, for JSON text only (see MemberServer's Upstream.snapshot).
   */
  tree: JsonValue;
  armed: [string[], number][] | LazyList;
  limits: { maxDepth: number; maxValueBytes: number };
}

/**
 * A follower cache of a hub: serves reads from a local replica of the hub's state, sends
 * writes up as intents, and applies the hub's ordered stream. Its own writes are visible to
 * its own reads at once (replayed on top of the confirmed state) until the hub confirms them.
 */
export class Member extends EventEmitter<MemberEvents> {
  readonly #link: Link;
  readonly #log: Logger;
  #limits: { maxDepth: number; maxValueBytes: number };
  readonly #clock = turnClock();
  #tree = new ReplicatedTree(this.#clock);
  // Tells watchers of expiries as they come due (the tree hides them until the hub's horizon
  // passes them, then folds them away).
  readonly #expiryTimer = new ExpiryTimer(
    () => this.#tree.nextDue(),
    () => this.#expired(),
  );
  readonly #watchers = new Watchers((path) => this.#confirmed(path));
  readonly #pending = new PendingWrites();
  #outbox: PendingWrite[] = [];
  readonly #durable = new DurableRequests();
  #flushScheduled = false;
  #position = 0;
  #me = 0;
  #hub = '';
  #sinceCollect = 0;
  #state: 'connecting' | 'ready' | 'closed' = 'connecting';
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #readyTimer: NodeJS.Timeout | undefined;
  // What the link had received when the ready timer was last armed.
  #receivedAtArm = 0;
  readonly #hello: MemberMessage;

  constructor(link: Link, options: MemberOptions = {}) {
    super();
    this.#link = link;
    this.#log = logger('member', `${link.label}`);
    this.#hello = helloMessage(options.self ?? { pid: process.pid });
    this.#limits = {
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      maxValueBytes: options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    };
    this.#ready = handled(
      new Promise<void>((resolve, reject) => {
        this.#resolveReady = resolve;
        this.#rejectReady = reject;
      }),
    );
    const timeout = options.readyTimeout ?? DEFAULTS.readyTimeoutMs;
    this.#readyTimer = setTimeout(() => this.#readyTimedOut(timeout), timeout);
    link.on('message', (message) => this.#linkOnMessage(message));
    link.on('close', (reason) => this.#linkOnClose(reason));
    link.ref?.(); // until the snapshot arrives
    if (!link.send(this.#hello)) this.#linkOnClose(undefined);
  }

  /**
   * Tells the hub the members this one serves itself (a worker's threads), for its stats and
   * dashboard. Nothing depends on it; a closed member drops it.
   */
  tellServed(served: ServedMember[]): void {
    if (this.#state !== 'closed') this.#link.send({ t: 'serves', m: served });
  }

  /** Resolves once the member holds its hub's snapshot. */
  ready(): Promise<void> {
    return this.#ready;
  }

  #readyTimedOut(timeout: number): void {
    this.#readyTimer = undefined;
    if (this.#state !== 'connecting') return;
    // A hub whose snapshot is still arriving (a large store takes seconds) has answered: wait
    // while its parts keep coming.
    const received = this.#link.bytesReceived;
    if (received !== undefined && received !== this.#receivedAtArm) {
      this.#receivedAtArm = received;
      this.#readyTimer = setTimeout(() => this.#readyTimedOut(timeout), timeout);
      return;
    }
    this.#rejectReady(
      new TimeoutError(
        `no collective hub answered within ${timeout} ms: start one in the primary with collective.cluster() ` +
          '(or attach this thread to a hub)',
      ),
    );
    this.close();
  }

  #linkOnMessage(raw: unknown): void {
    let message: DecodedHubMessage;
    try {
      message = decodeHubMessage(raw, this.#limits, this.#hub);
    } catch (error) {
      this.#log('dropping the link to the hub: %s', (error as Error).message);
      this.#link.close(new ProtocolError((error as Error).message));
      return;
    }
    if (message.t === 'snapshot') this.#applySnapshot(message);
    else if (message.t === 'durable') {
      this.#durable.answer(message);
      if (this.#durable.size === 0) this.#updateRef();
    }
    else {
      // Replies first: a failed cas is answered in the same message as the writes after it.
      for (const reply of message.r ?? []) {
        if (reply.error !== undefined) {
          // This member validates with the hub's own limits, so a refusal means it is broken.
          this.#link.close(new ProtocolError(`the hub refused write ${reply.i}: ${reply.error}`));
          return;
        }
        this.#pending.casOutcome(reply.i, reply.ok);
      }
      // The items go on to this member's own members, if it serves any (a worker's threads).
      const items: StreamItem[] | undefined = this.listenerCount('stream') > 0 ? [] : undefined;
      if (!this.#applyStream(message.n, message.s, items)) return;
      if (message.h !== undefined) this.#horizon(message.h);
      let acked: number | undefined;
      for (const [member, intent] of message.a ?? []) {
        if (member !== this.#me) continue;
        this.#pending.acknowledgeUpTo(intent);
        acked = intent;
      }
      this.#settle();
      if (items !== undefined) this.emit('stream', items, acked, message.r ?? [], message.h);
    }
  }

  // Applies the items of a stream message (from position `first`); its own writes come as
  // their intent ids and are applied from the pending writes. Collects the items, own writes
  // included, into `items` if given; false when the hub named a write this member does not hold
  // (a broken hub: the link is dropped).
  #applyStream(first: number, entries: readonly (StreamItem | OwnEntry)[], items: StreamItem[] | undefined): boolean {
    let find: ((id: number) => PendingWrite | undefined) | undefined;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      if (typeof entry === 'object' && !Array.isArray(entry)) {
        this.#applyItem(entry);
        items?.push(entry);
        continue;
      }
      if (first + index <= this.#position) continue; // already in the snapshot this member took
      const id = typeof entry === 'number' ? entry : entry[0];
      const write = (find ??= this.#pending.finder())(id);
      if (write === undefined || !isPlainIntent(write)) {
        this.#link.close(new ProtocolError(`the hub streamed back write ${id}, which this member does not hold as a plain write`));
        return false;
      }
      const item: StreamItem = { k: write.kind as OpKind, p: write.path as string[], n: first + index, o: this.#hub, i: id };
      if (write.value !== undefined) item.v = write.value;
      if (typeof entry !== 'number') item.w = entry[1];
      this.#applyItem(item);
      items?.push(item);
    }
    return true;
  }

  #applySnapshot(message: Extract<DecodedHubMessage, { t: 'snapshot' }>): void {
    const armed = (message.x ?? []).map(([path, at]): Due => ({ path, at }));
    this.#tree = ReplicatedTree.fromValue(message.tree, positionStamp(message.at), armed, this.#clock);
    this.#position = message.at;
    this.#me = message.you;
    this.#hub = message.hub;
    this.#limits = { maxDepth: message.limits.maxDepth, maxValueBytes: message.limits.maxValueBytes };
    // Intents up to `w` are already in the snapshot.
    if (this.#pending.casUndecidedUpTo(message.w)) {
      this.#link.close(new ProtocolError('resynchronized before a cas result arrived'));
      return;
    }
    this.#pending.acknowledgeUpTo(message.w);
    this.#settle();
    this.emit('snapshot', message.w);
    this.#log('ready at position %d as member %d of hub %s', message.at, message.you, message.hub);
    this.#watchers.resync(message.hub as NodeId);
    this.#expiryTimer.arm();
    if (this.#state === 'connecting') {
      this.#state = 'ready';
      if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer);
      this.#readyTimer = undefined;
      this.#resolveReady();
      this.emit('ready');
    }
    this.#updateRef();
  }

  #applyItem(item: StreamItem): void {
    if (item.n <= this.#position) return;
    if (item.n !== this.#position + 1) {
      // The link is ordered and reliable, so this is a broken hub; start over from a snapshot.
      this.#log('stream gap at %d (expected %d): asking for a snapshot', item.n, this.#position + 1);
      this.#link.send(this.#hello);
      return;
    }
    this.#position = item.n;
    const time = item.w ?? Number.NEGATIVE_INFINITY;
    if (item.r === 1) {
      this.#tree.sawTime(time);
      this.#tree.restate(item.p, item.v === undefined ? ABSENT : item.v, (item.m ?? []).map(([path, at]) => ({ path, at })), item.c === 1);
    } else {
      const op: { -readonly [K in keyof FinalOp]: FinalOp[K] } = { kind: item.k, path: item.p, value: item.v };
      if (item.x !== undefined) op.expireAt = item.x;
      if (item.q === 1) op.keepTtl = true;
      this.#tree.applyFinal(op, time);
    }
    if (item.x !== undefined || item.m !== undefined || item.k === 'ttl') this.#expiryTimer.arm();
    // applyFinal keeps no op records, only nodes (a deleted path stays a node until folded):
    // fold now and then (FOLD_EVERY says why not at every item).
    if (++this.#sinceCollect >= FOLD_EVERY) {
      this.#sinceCollect = 0;
      this.#tree.collect(positionStamp(this.#position));
    }
    if (this.#watchers.size === 0) return;
    const op: Op = { kind: item.k, path: item.p, value: item.v, seq: item.n, stamp: positionStamp(item.n) };
    this.#watchers.notify(op, item.o as NodeId);
  }

  // Expiries came due by this process's clock: watchers hear of them, once each. The tree only
  // hides them until the hub says nothing made before them can come any more.
  #expired(): void {
    if (this.#state !== 'ready') return;
    for (const entry of this.#tree.takeDue(this.#tree.readTime())) this.#watchers.notifyExpired(entry.path, this.#hub as NodeId);
  }

  // The hub's horizon: nothing made before `time` can come any more, so every expiry due by
  // then fires for good here too, folded away as a hub's GC does (the tree holds no op records:
  // only expired subtrees and subtrees with an expiry to fold). Watchers not told yet hear of it.
  #horizon(time: number): void {
    for (const entry of this.#tree.takeDue(time)) this.#watchers.notifyExpired(entry.path, this.#hub as NodeId);
    this.#tree.collect({ wall: time, count: Number.MAX_SAFE_INTEGER, node: CEILING_NODE });
  }

  #settle(): void {
    this.#pending.settle();
    if (this.#pending.size === 0) this.#updateRef();
  }

  // The link keeps the process alive only while an answer is awaited (the snapshot, or the
  // acknowledgement of a write): a worker that is done must be able to exit.
  #updateRef(): void {
    if (this.#state === 'connecting' || this.#pending.size > 0 || this.#durable.size > 0) this.#link.ref?.();
    else this.#link.unref?.();
  }

  // `done` (a write's promise), resolved only once the hub also has it on disk.
  #afterDisk<T>(done: Promise<T>, durable: boolean): Promise<T> {
    if (!durable) return done;
    if (this.#state === 'closed') return handled(Promise.reject(new ClosedError()));
    const onDisk = this.#durable.request();
    this.#link.ref?.();
    this.#scheduleFlush();
    return handled(Promise.all([done, onDisk]).then(([value]) => value));
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flushOutbox();
    });
  }

  #linkOnClose(reason: Error | undefined): void {
    if (this.#state === 'closed') return;
    const wasConnecting = this.#state === 'connecting';
    this.#state = 'closed';
    if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer);
    this.#readyTimer = undefined;
    this.#expiryTimer.stop();
    const error = new ClosedError(`the link to the collective hub closed${reason ? `: ${reason.message}` : ''}`);
    if (wasConnecting) this.#rejectReady(error);
    this.#outbox = [];
    this.#pending.rejectAll(error);
    this.#durable.rejectAll(error);
    this.emit('close');
  }

  #confirmed(path: Segments): JsonValue | undefined {
    const value = this.#tree.get(path);
    return value === ABSENT ? undefined : value;
  }

  /** The value at `path` (deep-frozen), or `undefined`; with no path, the whole tree. */
  get(path?: Path): JsonValue | undefined {
    if (this.#state === 'connecting') throw new NotReadyError();
    if (path === undefined) return this.#getAll();
    const segments = readPath(path, this.#limits.maxDepth);
    const pending = this.#pending.replayedFor(segments[0]!);
    return pending === undefined ? this.#confirmed(segments) : this.#overlaid(segments, pending);
  }

  // The slow paths of `get`, apart: closures in `get` itself would make V8 allocate a context
  // on every read (measured: a hot read ~15% slower).
  #getAll(): JsonValue | undefined {
    const all = this.#pending.allReplayed();
    if (all === undefined) return this.#tree.getAll();
    return overlay((p) => (p.length === 0 ? this.#tree.getAll() : this.#tree.get(p)), [], all) as JsonValue;
  }

  #overlaid(segments: Segments, pending: Iterable<ReplayedWrite>): JsonValue | undefined {
    const value = overlay((p) => this.#tree.get(p), segments, pending);
    return value === ABSENT ? undefined : value;
  }

  // Every promise handed to the caller is marked handled (see `handled`): an un-awaited write
  // whose hub went away must not crash the process.
  #write(kind: OpKind | 'cas', segments: Segments, value: JsonValue | undefined, expected?: JsonValue, expiry?: WriteExpiry): Promise<unknown> {
    if (this.#state === 'closed') return handled(Promise.reject(new ClosedError()));
    const write = this.#pending.add(kind, segments, value, expected, expiry);
    if (this.#pending.size === 1) this.#updateRef();
    this.#scheduleFlush();
    this.#outbox.push(write);
    return write.batch.promise;
  }

  // Sends the turn's writes, then the turn's durable request (answered once they are on disk).
  #flushOutbox(): void {
    const writes = this.#outbox;
    this.#outbox = [];
    this.#pending.endBatch(); // writes from now on leave in the next message
    if (writes.length > 0) {
      const intents = writes.map((write) => encodeIntent(write.kind, write.path, write.value, write.expected, write.expiry));
      if (!this.#link.send({ t: 'write', i: writes[0]!.id, w: intents })) return this.#linkOnClose(undefined);
    }
    const durable = this.#durable.take();
    if (durable !== undefined && !this.#link.send({ t: 'durable', d: durable })) this.#linkOnClose(undefined);
  }

  #path(path: Path): Segments {
    return parsePath(path, this.#limits.maxDepth);
  }

  #value(path: Segments, value: unknown): JsonValue {
    return toStoredValue(value, path, this.#limits.maxValueBytes);
  }

  /**
   * Sends up a write that one of this member's own members made (a thread's, already validated
   * with this member's limits); returns its intent id here, which the hub's acknowledgements
   * and replies name.
   */
  forward(kind: OpKind | 'cas', path: Segments, value: JsonValue | undefined, expected?: JsonValue, expiry?: WriteExpiry): number {
    if (this.#state === 'closed') throw new ClosedError();
    const write = this.#pending.add(kind, path, value, expected, expiry);
    if (this.#pending.size === 1) this.#updateRef();
    this.#scheduleFlush();
    this.#outbox.push(write);
    return write.id;
  }

  /**
   * The state the hub confirmed, without pending writes (the whole tree: for snapshots). Only
   * once ready. `overTurns`: see ReplicatedTree.export.
   */
  confirmed(overTurns = false): ConfirmedState {
    if (this.#state === 'connecting') throw new NotReadyError();
    const { value, armed, armedFolded } = this.#tree.export([], overTurns);
    return { hub: this.#hub, at: this.#position, tree: value === ABSENT ? {} : value, armed: encodeSnapshotArmed(armed, armedFolded), limits: this.limits };
  }

  /** The hub's limits (this member's own until its snapshot arrives). */
  get limits(): { maxDepth: number; maxValueBytes: number } {
    return { ...this.#limits };
  }

  /** The last position of the hub's stream this member applied. */
  get position(): number {
    return this.#position;
  }

  /** Sends the writes of this turn now rather than at the end of the turn (a finished task). */
  sendNow(): void {
    this.#flushOutbox();
  }

  /**
   * Sets the value at `path`; resolves when the hub applied it. The third argument is options
   * (`{ ttl }`, `{ keepTtl }`: see the hub's `set`) or collective.js's operation
   * (`OPERATIONS.INCREMENT` adds `value`, `OPERATIONS.DELETE` deletes).
   */
  set<T>(path: Path, value: T & JsonInput<T>, options?: (SetOptions & DurableOption) | Operation | true): Promise<void> {
    const { kind, options: setOptions } = setArguments(options);
    if (kind === 'incr') return this.incr(path, value as number);
    if (kind === 'delete') return this.delete(path);
    const segments = this.#path(path);
    const expiry = writeExpiry(setOptions, segments, true);
    const durable = wantsDurable(setOptions);
    return this.#afterDisk(this.#write('set', segments, this.#value(segments, value), undefined, expiry) as Promise<void>, durable);
  }

  /** Deletes the value at `path`. */
  delete(path: Path): Promise<void> {
    return this.#write('delete', this.#path(path), undefined) as Promise<void>;
  }

  /** Adds `by` to the number at `path`; `{ ttl }` arms an expiry only where none is armed. */
  incr(path: Path, by: number = 1, options?: ExpiryOptions & DurableOption): Promise<void> {
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_VALUE', `Expected the amount to be a finite number, got ${describe(by)}`);
    }
    const segments = this.#path(path);
    const expiry = writeExpiry(options, segments, false);
    const durable = wantsDurable(options);
    return this.#afterDisk(this.#write('incr', segments, by, undefined, expiry) as Promise<void>, durable);
  }

  /** Subtracts `by` from the number at `path`; options as for `incr`. */
  decr(path: Path, by: number = 1, options?: ExpiryOptions & DurableOption): Promise<void> {
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_VALUE', `Expected the amount to be a finite number, got ${describe(by)}`);
    }
    return this.incr(path, -by, options);
  }

  /** Appends one element to the list at `path`; options as for `incr`. */
  append<T>(path: Path, value: T & JsonInput<T>, options?: ExpiryOptions & DurableOption): Promise<void> {
    const segments = this.#path(path);
    const expiry = writeExpiry(options, segments, false);
    const durable = wantsDurable(options);
    return this.#afterDisk(this.#write('append', segments, this.#value(segments, value), undefined, expiry) as Promise<void>, durable);
  }

  /** Compare-and-set, decided by the hub; resolves with whether it set. Options as for `set`. */
  cas<T>(path: Path, expected: unknown, next: T & JsonInput<T>, options?: SetOptions & DurableOption): Promise<boolean> {
    const segments = this.#path(path);
    const expiry = writeExpiry(options, segments, true);
    const durable = wantsDurable(options);
    const nextValue = this.#value(segments, next);
    const expectedValue = expected === undefined ? null : this.#value(segments, expected);
    return this.#afterDisk(this.#write('cas', segments, nextValue, expectedValue, expiry) as Promise<boolean>, durable);
  }

  /**
   * (Re)arms the expiry of what is at `path`, `ttl` ms after the hub applies it; `null` clears
   * it. Decided by the hub: resolves with whether something was there.
   */
  expire(path: Path, ttl: number | null): Promise<boolean> {
    const segments = this.#path(path);
    return this.#write('ttl', segments, ttl === null ? null : checkTtl(ttl, segments)) as Promise<boolean>;
  }

  /**
   * Milliseconds before the confirmed value at `path` expires (its own expiry or one above it),
   * by this process's clock; undefined when none is armed or nothing is there. Sync.
   */
  ttl(path: Path): number | undefined {
    if (this.#state === 'connecting') throw new NotReadyError();
    return this.#tree.ttl(this.#path(path));
  }

  /** Calls `listener(value, change)` for every confirmed change of the value at `path`. */
  watch(path: Path, listener: WatchListener): () => void {
    if (typeof listener !== 'function') {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected a listener function, got ${describe(listener)}`);
    }
    return this.#watchers.add(parsePath(path, this.#limits.maxDepth), listener);
  }

  /**
   * Resolves once every write made so far was applied by the hub (or failed); with
   * `{ durable: true }`, once the hub also has every one on disk.
   */
  flush(options?: DurableOption): Promise<void> {
    if (this.#state === 'closed' && this.#pending.size === 0) return handled(Promise.reject(new ClosedError()));
    return this.#afterDisk(this.#pending.flushed(), wantsDurable(options));
  }

  stats(): MemberStats {
    return { member: this.#me, hub: this.#hub, ready: this.#state === 'ready', pending: this.#pending.size, position: this.#position, metadata: this.#tree.metadata() };
  }

  /** Leaves the hub; pending writes are rejected with `ERR_COLLECTIVE_CLOSED`. */
  close(): Promise<void> {
    this.#flushOutbox();
    this.#link.close();
    this.#linkOnClose(undefined);
    return Promise.resolve();
  }
}
