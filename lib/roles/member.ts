import { EventEmitter } from 'node:events';
import { ClosedError, NotReadyError, ProtocolError, TimeoutError, describe, inputTypeError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import type { NodeId, Stamp } from '../core/clock.js';
import { ABSENT } from '../core/node.js';
import type { Op, OpKind } from '../core/op.js';
import { DEFAULT_MAX_DEPTH, formatPath, parsePath, type Path, type Segments } from '../core/path.js';
import { ReplicatedTree } from '../core/tree.js';
import { DEFAULT_MAX_VALUE_BYTES, toStoredValue, type JsonValue } from '../core/value.js';
import { Watchers, type WatchListener } from '../core/watchers.js';
import type { Link } from '../links/link.js';
import { MEMBER_PROTOCOL_VERSION, decodeHubMessage, type HubMessage, type WireIntent, type WireItem } from '../wire/member.js';
import { overlay } from './overlay.js';

/** Options of a member. */
export interface MemberOptions {
  /** How long `ready()` waits for the hub's snapshot before it rejects. @default 5000 */
  readyTimeout?: number;
  /** Deepest path accepted. @default 32 */
  maxDepth?: number;
  /** Largest value accepted, in bytes of JSON. @default 1048576 (1 MiB) */
  maxValueBytes?: number;
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
}

interface PendingWrite {
  readonly id: number;
  /** The write as replayed on reads until the hub confirms it; none for cas. */
  readonly op: Op | undefined;
  readonly resolve: (applied: boolean) => void;
  readonly reject: (error: Error) => void;
  /** Settles with the write, whatever the outcome (for flush). */
  settled?: Promise<unknown>;
}

// The member applies its hub's stream in the hub's order: stamps are the stream positions, so
// every item is the newest and takes the tree's O(depth) path.
const STREAM = 'stream' as NodeId;
const positionStamp = (position: number): Stamp => ({ wall: 0, count: position, node: STREAM });

// Fold the member's tree bookkeeping after this many items (everything it holds is final).
const COLLECT_EVERY = 10_000;

function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * A follower cache of a hub: serves reads from a local replica of the hub's state, sends
 * writes up as intents, and applies the hub's ordered stream. Its own writes are visible to
 * its own reads at once (replayed on top of the confirmed state) until the hub confirms them.
 */
export class Member extends EventEmitter<{ ready: []; close: [] }> {
  readonly #link: Link;
  readonly #log: Logger;
  readonly #limits: { maxDepth: number; maxValueBytes: number };
  #tree = new ReplicatedTree();
  readonly #watchers = new Watchers((path) => this.#confirmed(path));
  readonly #pending: PendingWrite[] = [];
  readonly #pendingOps: Op[] = [];
  readonly #pendingKeys = new Map<string, number>();
  #outbox: WireIntent[] = [];
  #nextIntent = 1;
  #position = 0;
  #me = 0;
  #hub = '';
  #state: 'connecting' | 'ready' | 'closed' = 'connecting';
  #sinceCollect = 0;
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #readyTimer: NodeJS.Timeout | undefined;

  constructor(link: Link, options: MemberOptions = {}) {
    super();
    this.#link = link;
    this.#log = logger('member', `${link.label}`);
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
    const timeout = options.readyTimeout ?? 5000;
    this.#readyTimer = setTimeout(() => this.#readyTimedOut(timeout), timeout);
    link.on('message', (message) => this.#linkOnMessage(message));
    link.on('close', (reason) => this.#linkOnClose(reason));
    link.ref?.(); // until the snapshot arrives
    if (!link.send({ t: 'hello', v: MEMBER_PROTOCOL_VERSION })) this.#linkOnClose(undefined);
  }

  /** Resolves once the member holds its hub's snapshot. */
  ready(): Promise<void> {
    return this.#ready;
  }

  #readyTimedOut(timeout: number): void {
    this.#readyTimer = undefined;
    if (this.#state !== 'connecting') return;
    this.#rejectReady(
      new TimeoutError(
        `no collective hub answered within ${timeout} ms: start one in the primary with collective.cluster() ` +
          '(or attach this thread to a hub)',
      ),
    );
    this.close();
  }

  #linkOnMessage(raw: unknown): void {
    let message: HubMessage;
    try {
      message = decodeHubMessage(raw, this.#limits);
    } catch (error) {
      this.#log('dropping the link to the hub: %s', (error as Error).message);
      this.#link.close(new ProtocolError((error as Error).message));
      return;
    }
    if (message.t === 'snapshot') this.#applySnapshot(message);
    else {
      for (const item of message.s) this.#applyItem(item);
      if (message.r !== undefined) {
        for (const reply of message.r) {
          if (reply.error !== undefined) this.#settle(reply.i, new TypeError(`the hub refused the write: ${reply.error}`));
          else this.#settle(reply.i, reply.ok);
        }
      }
    }
  }

  #applySnapshot(message: Extract<HubMessage, { t: 'snapshot' }>): void {
    this.#tree = ReplicatedTree.fromValue(message.tree, positionStamp(message.at));
    this.#position = message.at;
    this.#me = message.you;
    this.#hub = message.hub;
    // Intents up to `w` are already in the snapshot.
    while (this.#pending.length > 0 && this.#pending[0]!.id <= message.w) {
      const write = this.#pending[0]!;
      this.#settle(write.id, write.op === undefined ? new ProtocolError('resynchronized before the cas result arrived') : true);
    }
    this.#log('ready at position %d as member %d of hub %s', message.at, message.you, message.hub);
    this.#watchers.resync(message.hub as NodeId);
    if (this.#state === 'connecting') {
      this.#state = 'ready';
      if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer);
      this.#readyTimer = undefined;
      this.#resolveReady();
      this.emit('ready');
    }
    this.#updateRef();
  }

  #applyItem(item: WireItem): void {
    if (item.n <= this.#position) return;
    if (item.n !== this.#position + 1) {
      // The link is ordered and reliable, so this is a broken hub; start over from a snapshot.
      this.#log('stream gap at %d (expected %d): asking for a snapshot', item.n, this.#position + 1);
      this.#link.send({ t: 'hello', v: MEMBER_PROTOCOL_VERSION });
      return;
    }
    this.#position = item.n;
    const op: Op = { kind: item.k, path: item.p, value: item.v, seq: item.n, stamp: positionStamp(item.n) };
    this.#tree.apply(op);
    if (item.m === this.#me && item.i !== undefined) this.#settle(item.i, true);
    this.#watchers.notify(op, item.o as NodeId);
    if (++this.#sinceCollect >= COLLECT_EVERY) {
      this.#sinceCollect = 0;
      this.#tree.collect(positionStamp(this.#position));
    }
  }

  #settle(id: number, outcome: boolean | Error): void {
    const index = this.#pending.findIndex((write) => write.id === id);
    if (index === -1) return;
    const [write] = this.#pending.splice(index, 1) as [PendingWrite];
    if (write.op !== undefined) {
      this.#pendingOps.splice(this.#pendingOps.indexOf(write.op), 1);
      const key = write.op.path[0]!;
      const count = this.#pendingKeys.get(key)! - 1;
      if (count === 0) this.#pendingKeys.delete(key);
      else this.#pendingKeys.set(key, count);
    }
    if (outcome instanceof Error) write.reject(outcome);
    else write.resolve(outcome);
    if (this.#pending.length === 0) this.#updateRef();
  }

  // The link keeps the process alive only while an answer is awaited (the snapshot, or the
  // acknowledgement of a write): a worker that is done must be able to exit.
  #updateRef(): void {
    if (this.#state === 'connecting' || this.#pending.length > 0) this.#link.ref?.();
    else this.#link.unref?.();
  }

  #linkOnClose(reason: Error | undefined): void {
    if (this.#state === 'closed') return;
    const wasConnecting = this.#state === 'connecting';
    this.#state = 'closed';
    if (this.#readyTimer !== undefined) clearTimeout(this.#readyTimer);
    this.#readyTimer = undefined;
    const error = new ClosedError(`the link to the collective hub closed${reason ? `: ${reason.message}` : ''}`);
    if (wasConnecting) this.#rejectReady(error);
    for (const write of this.#pending.splice(0)) write.reject(error);
    this.#pendingOps.length = 0;
    this.#pendingKeys.clear();
    this.emit('close');
  }

  #confirmed(path: Segments): JsonValue | undefined {
    const value = this.#tree.get(path);
    return value === ABSENT ? undefined : value;
  }

  /** The value at `path` (deep-frozen), or `undefined`; with no path, the whole tree. */
  get(path?: Path): JsonValue | undefined {
    if (this.#state === 'connecting') throw new NotReadyError();
    if (path === undefined) {
      if (this.#pendingOps.length === 0) return this.#tree.getAll();
      return overlay((p) => (p.length === 0 ? this.#tree.getAll() : this.#tree.get(p)), [], this.#pendingOps) as JsonValue;
    }
    const segments = parsePath(path, this.#limits.maxDepth);
    if (this.#pendingOps.length === 0 || !this.#pendingKeys.has(segments[0]!)) return this.#confirmed(segments);
    const value = overlay((p) => (p.length === 0 ? this.#tree.getAll() : this.#tree.get(p)), segments, this.#pendingOps);
    return value === ABSENT ? undefined : value;
  }

  // Every promise handed to the caller is marked handled (see `handled`), including the ones
  // derived with `then`: an un-awaited write whose hub went away must not crash the process.
  #writeVoid(kind: OpKind, path: Path, value: JsonValue | undefined): Promise<void> {
    return handled(this.#write(kind, path, value).then(() => undefined));
  }

  #write(kind: OpKind | 'cas', path: Path, value: JsonValue | undefined, expected?: JsonValue): Promise<boolean> {
    const segments = parsePath(path, this.#limits.maxDepth);
    if (this.#state === 'closed') return handled(Promise.reject(new ClosedError()));
    const id = this.#nextIntent++;
    const intent: WireIntent = { i: id, k: kind, p: segments as string[] };
    if (value !== undefined) intent.v = value;
    if (expected !== undefined) intent.e = expected;
    let op: Op | undefined;
    if (kind !== 'cas') {
      op = { kind, path: segments, value, seq: id, stamp: positionStamp(0) };
      this.#pendingOps.push(op);
      this.#pendingKeys.set(segments[0]!, (this.#pendingKeys.get(segments[0]!) ?? 0) + 1);
    }
    let write!: PendingWrite;
    const promise = handled(
      new Promise<boolean>((resolve, reject) => {
        write = { id, op, resolve, reject };
        this.#pending.push(write);
      }),
    );
    write.settled = promise.then(
      () => undefined,
      () => undefined,
    );
    if (this.#pending.length === 1) this.#updateRef();
    if (this.#outbox.length === 0) setImmediate(() => this.#flushOutbox());
    this.#outbox.push(intent);
    return promise;
  }

  #flushOutbox(): void {
    const intents = this.#outbox;
    this.#outbox = [];
    if (intents.length > 0 && !this.#link.send({ t: 'write', w: intents })) this.#linkOnClose(undefined);
  }

  #value(path: Path, value: unknown): JsonValue {
    return toStoredValue(value, typeof path === 'string' ? path : formatPath(parsePath(path)), this.#limits.maxValueBytes);
  }

  /** Sets the value at `path`; resolves when the hub applied it. */
  set(path: Path, value: unknown): Promise<void> {
    return this.#writeVoid('set', path, this.#value(path, value));
  }

  /** Deletes the value at `path`. */
  delete(path: Path): Promise<void> {
    return this.#writeVoid('delete', path, undefined);
  }

  /** Adds `by` to the number at `path`. */
  incr(path: Path, by: number = 1): Promise<void> {
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_VALUE', `Expected the amount to be a finite number, got ${describe(by)}`);
    }
    return this.#writeVoid('incr', path, by);
  }

  /** Subtracts `by` from the number at `path`. */
  decr(path: Path, by: number = 1): Promise<void> {
    if (typeof by !== 'number' || !Number.isFinite(by)) {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_VALUE', `Expected the amount to be a finite number, got ${describe(by)}`);
    }
    return this.incr(path, -by);
  }

  /** Appends one element to the list at `path`. */
  append(path: Path, value: unknown): Promise<void> {
    return this.#writeVoid('append', path, this.#value(path, value));
  }

  /** Compare-and-set, decided by the hub; resolves with whether it set. */
  cas(path: Path, expected: unknown, next: unknown): Promise<boolean> {
    const nextValue = this.#value(path, next);
    const expectedValue = expected === undefined ? null : this.#value(path, expected);
    return this.#write('cas', path, nextValue, expectedValue);
  }

  /** Calls `listener(value, change)` for every confirmed change of the value at `path`. */
  watch(path: Path, listener: WatchListener): () => void {
    if (typeof listener !== 'function') {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected a listener function, got ${describe(listener)}`);
    }
    return this.#watchers.add(parsePath(path, this.#limits.maxDepth), listener);
  }

  /** Resolves once every write made so far was applied by the hub (or failed). */
  flush(): Promise<void> {
    if (this.#state === 'closed' && this.#pending.length === 0) return handled(Promise.reject(new ClosedError()));
    return Promise.all(this.#pending.map((write) => write.settled)).then(() => undefined);
  }

  stats(): MemberStats {
    return { member: this.#me, hub: this.#hub, ready: this.#state === 'ready', pending: this.#pending.length, position: this.#position };
  }

  /** Leaves the hub; pending writes are rejected with `ERR_COLLECTIVE_CLOSED`. */
  close(): Promise<void> {
    this.#flushOutbox();
    this.#link.close();
    this.#linkOnClose(undefined);
    return Promise.resolve();
  }
}
