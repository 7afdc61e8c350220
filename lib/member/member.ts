import { EventEmitter } from 'node:events';
import { ClosedError, NotReadyError, ProtocolError, describe, handled, inputTypeError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { DEFAULTS } from '../defaults.js';
import type { NodeId } from '../core/clock.js';
import type { OpKind } from '../core/op.js';
import { checkAmount } from '../core/replica-types.js';
import { DEFAULT_MAX_DEPTH, parsePath, type Path, type Segments } from '../core/path.js';
import type { Due } from '../core/schedule.js';
import { DEFAULT_MAX_VALUE_BYTES, toStoredValue, type JsonInput, type JsonValue } from '../core/value.js';
import { checkTtl, writeExpiry, type ExpiryOptions, type SetOptions, type WriteExpiry } from '../core/write-options.js';
import { setArguments, wantsDurable, type DurableOption, type Operation } from '../operations.js';
import type { WatchListener } from '../core/watchers.js';
import type { Link } from '../links/link.js';
import { decodeHubMessage, encodeIntent, helloMessage, writeMessage, type DecodedHubMessage, type MemberMessage, type ServedMember, type StreamItem, type WireIntent } from '../wire/member.js';
import type { PlainWrite } from '../wire/plain-write.js';
import { ConfirmedTree } from './confirmed.js';
import type { ConfirmedState, MemberEvents, MemberOptions, MemberStats } from './types.js';
import { DurableRequests } from './durable-requests.js';
import { ReadyWait } from './ready-wait.js';
import { PendingWrites } from './pending.js';
import { applyStream, type StreamTarget } from './stream-apply.js';
import { MemberReads } from './reads.js';

export type { ConfirmedState, MemberEvents, MemberOptions, MemberStats } from './types.js';

// A path given as a string is already what a plain write carries (split at its dots, it gives
// its segments back): sent as it came, not joined again from its segments.
const dottedOrNot = (path: Path): string | undefined => (typeof path === 'string' ? path : undefined);

/**
 * A follower cache of a hub: serves reads from a local replica of the hub's state, sends
 * writes up as intents, and applies the hub's ordered stream. Its own writes are visible to
 * its own reads at once (replayed on top of the confirmed state) until the hub confirms them.
 */
export class Member extends EventEmitter<MemberEvents> {
  readonly #link: Link;
  readonly #log: Logger;
  #limits: { maxDepth: number; maxValueBytes: number };
  readonly #confirmed = new ConfirmedTree();
  readonly #pending = new PendingWrites();
  readonly #reads = new MemberReads(this.#confirmed, this.#pending);
  // The intents of this turn's writes, encoded: the last of them is the last write made.
  #outbox: (WireIntent | PlainWrite)[] = [];
  readonly #durable = new DurableRequests();
  #flushScheduled = false;
  #me = 0;
  #state: 'connecting' | 'ready' | 'closed' = 'connecting';
  readonly #ready: ReadyWait;
  readonly #hello: MemberMessage;
  // The link is ordered and reliable, so a gap in the stream is a broken hub: start over from a snapshot.
  readonly #streamTarget: StreamTarget = {
    confirmed: this.#confirmed,
    pending: this.#pending,
    gap: (position) => {
      this.#log('stream gap at %d (expected %d): asking for a snapshot', position, this.#confirmed.position + 1);
      this.#link.send(this.#hello);
    },
  };

  constructor(link: Link, options: MemberOptions = {}) {
    super();
    this.#link = link;
    this.#log = logger('member', `${link.label}`);
    this.#hello = helloMessage(options.self ?? { pid: process.pid });
    this.#limits = {
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      maxValueBytes: options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    };
    this.#ready = new ReadyWait(link, options.readyTimeout ?? DEFAULTS.readyTimeoutMs, () => this.close());
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
    return this.#ready.promise;
  }

  #linkOnMessage(raw: unknown): void {
    let message: DecodedHubMessage;
    try {
      message = decodeHubMessage(raw, this.#limits, this.#confirmed.hub);
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
      const unknown = applyStream(this.#streamTarget, message.n, message.s, items);
      if (unknown !== undefined) {
        this.#link.close(new ProtocolError(`the hub streamed back write ${unknown}, which this member does not hold as a plain write`));
        return;
      }
      if (message.h !== undefined) this.#confirmed.horizon(message.h);
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

  #applySnapshot(message: Extract<DecodedHubMessage, { t: 'snapshot' }>): void {
    const armed = (message.x ?? []).map(([path, at]): Due => ({ path, at }));
    this.#confirmed.adopt(message.tree, message.at, armed, message.hub as NodeId);
    this.#me = message.you;
    this.#limits = { maxDepth: message.limits.maxDepth, maxValueBytes: message.limits.maxValueBytes };
    this.#reads.forget();
    // Intents up to `w` are already in the snapshot.
    if (this.#pending.casUndecidedUpTo(message.w)) {
      this.#link.close(new ProtocolError('resynchronized before a cas result arrived'));
      return;
    }
    this.#pending.acknowledgeUpTo(message.w);
    this.#settle();
    this.emit('snapshot', message.w);
    this.#log('ready at position %d as member %d of hub %s', message.at, message.you, message.hub);
    this.#confirmed.live();
    if (this.#state === 'connecting') {
      this.#state = 'ready';
      this.#ready.done();
      this.emit('ready');
    }
    this.#updateRef();
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
    this.#confirmed.stop();
    const error = new ClosedError(`the link to the collective hub closed${reason ? `: ${reason.message}` : ''}`);
    if (wasConnecting) this.#ready.fail(error);
    this.#outbox = [];
    this.#pending.rejectAll(error);
    this.#durable.rejectAll(error);
    this.emit('close');
  }

  /** The value at `path` (deep-frozen), or `undefined`; with no path, the whole tree. */
  get(path?: Path): JsonValue | undefined {
    if (this.#state === 'connecting') throw new NotReadyError();
    return path === undefined ? this.#reads.all() : this.#reads.get(path, this.#limits.maxDepth);
  }

  // A write with its options: an expiry (`keep`: a set's, which keepTtl may keep; see
  // writeExpiry), and `durable`, which resolves it only once the hub also has it on disk.
  #submit(kind: OpKind | 'cas', segments: Segments, value: JsonValue, options: unknown, keep: boolean, expected?: JsonValue, dotted?: string): Promise<unknown> {
    const expiry = writeExpiry(options, segments, keep);
    return this.#afterDisk(this.#write(kind, segments, value, expected, expiry, dotted), wantsDurable(options));
  }

  // Every promise handed to the caller is marked handled (see `handled`): an un-awaited write
  // whose hub went away must not crash the process.
  // `dotted`: the path as the caller gave it, a string (what a plain write carries: see PlainWrite).
  #write(kind: OpKind | 'cas', segments: Segments, value: JsonValue | undefined, expected?: JsonValue, expiry?: WriteExpiry, dotted?: string): Promise<unknown> {
    if (this.#state === 'closed') return handled(Promise.reject(new ClosedError()));
    return this.#queue(kind, segments, value, expected, expiry, dotted);
  }

  // A write pending from now, sent at the end of the turn: its promise. Encoded now, so that
  // nothing it was written with but what reads need is held until the hub applies it.
  #queue(kind: OpKind | 'cas', segments: Segments, value: JsonValue | undefined, expected?: JsonValue, expiry?: WriteExpiry, dotted?: string): Promise<unknown> {
    const promise = this.#pending.add(kind, segments, value, expected, expiry);
    if (this.#pending.size === 1) this.#updateRef();
    this.#scheduleFlush();
    this.#outbox.push(encodeIntent(kind, segments, value, expected, expiry, dotted));
    return promise;
  }

  // Sends the turn's writes, then the turn's durable request (answered once they are on disk).
  #flushOutbox(): void {
    const intents = this.#outbox;
    this.#outbox = [];
    this.#pending.endBatch(); // writes from now on leave in the next message
    const first = this.#pending.lastId - intents.length + 1;
    if (intents.length > 0 && !this.#link.send(writeMessage(first, intents))) return this.#linkOnClose(undefined);
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
    void this.#queue(kind, path, value, expected, expiry); // answered to its own member, by id
    return this.#pending.lastId;
  }

  /**
   * The state the hub confirmed, without pending writes (the whole tree: for snapshots). Only
   * once ready. `overTurns`: see ReplicatedTree.export.
   */
  confirmed(overTurns = false): ConfirmedState {
    if (this.#state === 'connecting') throw new NotReadyError();
    return { hub: this.#confirmed.hub, at: this.#confirmed.position, ...this.#confirmed.export(overTurns), limits: this.limits };
  }

  /** The hub's limits (this member's own until its snapshot arrives). */
  get limits(): { maxDepth: number; maxValueBytes: number } {
    return { ...this.#limits };
  }

  /** The last position of the hub's stream this member applied. */
  get position(): number {
    return this.#confirmed.position;
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
    return this.#submit('set', segments, this.#value(segments, value), setOptions, true, undefined, dottedOrNot(path)) as Promise<void>;
  }

  /** Deletes the value at `path`. */
  delete(path: Path): Promise<void> {
    return this.#write('delete', this.#path(path), undefined, undefined, undefined, dottedOrNot(path)) as Promise<void>;
  }

  /** Adds `by` to the number at `path`; `{ ttl }` arms an expiry only where none is armed. */
  incr(path: Path, by: number = 1, options?: ExpiryOptions & DurableOption): Promise<void> {
    const segments = this.#path(path);
    return this.#submit('incr', segments, checkAmount(by, segments), options, false, undefined, dottedOrNot(path)) as Promise<void>;
  }

  /** Subtracts `by` from the number at `path`; options as for `incr`. */
  decr(path: Path, by: number = 1, options?: ExpiryOptions & DurableOption): Promise<void> {
    return this.incr(path, -checkAmount(by, this.#path(path)), options);
  }

  /** Appends one element to the list at `path`; options as for `incr`. */
  append<T>(path: Path, value: T & JsonInput<T>, options?: ExpiryOptions & DurableOption): Promise<void> {
    const segments = this.#path(path);
    return this.#submit('append', segments, this.#value(segments, value), options, false, undefined, dottedOrNot(path)) as Promise<void>;
  }

  /** Compare-and-set, decided by the hub; resolves with whether it set. Options as for `set`. */
  cas<T>(path: Path, expected: unknown, next: T & JsonInput<T>, options?: SetOptions & DurableOption): Promise<boolean> {
    const segments = this.#path(path);
    const expectedValue = expected === undefined ? null : this.#value(segments, expected);
    return this.#submit('cas', segments, this.#value(segments, next), options, true, expectedValue) as Promise<boolean>;
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
    return this.#confirmed.ttl(this.#path(path));
  }

  /** Calls `listener(value, change)` for every confirmed change of the value at `path`. */
  watch(path: Path, listener: WatchListener): () => void {
    if (typeof listener !== 'function') {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected a listener function, got ${describe(listener)}`);
    }
    return this.#confirmed.watchers.add(parsePath(path, this.#limits.maxDepth), listener);
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
    const confirmed = this.#confirmed;
    return { member: this.#me, hub: confirmed.hub, ready: this.#state === 'ready', pending: this.#pending.size, position: confirmed.position, metadata: confirmed.metadata() };
  }

  /** Leaves the hub; pending writes are rejected with `ERR_COLLECTIVE_CLOSED`. */
  close(): Promise<void> {
    this.#flushOutbox();
    this.#link.close();
    this.#linkOnClose(undefined);
    return Promise.resolve();
  }
}
