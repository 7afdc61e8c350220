import cluster from 'node:cluster';
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { AuthError, ClosedError, CollectiveError, NotReadyError, PeerError, PersistError, ProtocolError, TimeoutError } from './errors.js';
import type { Path } from './core/path.js';
import type { JsonInput, JsonValue } from './core/value.js';
import type { WatchListener } from './core/watchers.js';
import { MAX_TTL_MS, type ExpiryOptions, type SetOptions } from './core/write-options.js';
import { startCluster } from './cluster/cluster.js';
import { connectToPrimary } from './cluster/primary.js';
import { Collective } from './hub/hub.js';
import { isCollectiveIpcMessage } from './links/ipc.js';
import { logger } from './log.js';
import { Member, type MemberStats } from './member/member.js';
import { OPERATIONS, type DurableOption, type Operation } from './operations.js';
import { processSlot } from './process-slot.js';
import { ThreadRelay } from './hub/thread-relay.js';
import { attachWorker, createPool, type AttachThread, type PoolOptions } from './threads/pool.js';
import { joinThroughPort, threadSlot } from './threads/slot.js';
import type { ClusterOptions, CollectiveOptions, CollectiveStats, HostAddress, ReadyOptions } from './types.js';

// The store of this process lives in a global slot (process-slot.ts): the hub started here by
// cluster(), or, in a worker, the member connected to the hub in the primary (created on first
// use), whichever copy of this module (ESM or CommonJS) got there first.
const slot = processSlot();

function memberOfThisWorker(options?: ReadyOptions): Member | undefined {
  // A thread's member lives in a slot of its own (threads/slot.ts). Threads inherit their
  // process's environment, so this test comes before the cluster one.
  if (!isMainThread) return threadSlot().member;
  if (slot.member !== undefined) return slot.member;
  if (!cluster.isWorker) return undefined;
  const link = connectToPrimary();
  if (link === undefined) return undefined;
  const member = new Member(link, options?.timeout === undefined ? {} : { readyTimeout: options.timeout });
  slot.member = member;
  member.once('close', () => {
    if (slot.member === member) slot.member = undefined;
  });
  return member;
}

function store(): Collective | Member {
  const hubHere = slot.hub;
  if (hubHere !== undefined) return hubHere;
  const member = memberOfThisWorker();
  if (member !== undefined) return member;
  throw new NotReadyError(
    'no collective store in this process: call collective.cluster() in the primary, and use collective.get/set in its workers',
  );
}

/**
 * In the primary: starts this machine's hub and forks the workers. Resolves with the hub (the
 * store API, plus `stats()`, `close()` and events).
 */
export async function clusterHub(options: ClusterOptions = {}): Promise<Collective> {
  if (slot.hub !== undefined) throw new TypeError('collective.cluster() was already called in this process');
  const hub = await startCluster(options);
  if (slot.hub !== undefined) {
    // Another copy of this module (import beside require) won a concurrent call.
    await hub.close();
    throw new TypeError('collective.cluster() was already called in this process');
  }
  slot.hub = hub;
  hub.once('close', () => {
    if (slot.hub === hub) slot.hub = undefined;
  });
  return hub;
}

/**
 * Resolves once this process can read: in a worker, when its member holds the hub's snapshot
 * (rejects with `ERR_COLLECTIVE_TIMEOUT` after `timeout` ms if no hub answers); in a process
 * with a hub, at once.
 */
export function ready(options: ReadyOptions = {}): Promise<void> {
  if (slot.hub !== undefined) return Promise.resolve();
  if (!isMainThread && threadSlot().member === undefined && parentPort !== null) return joinFromParent(options);
  const member = memberOfThisWorker(options);
  if (member === undefined) {
    const error = new NotReadyError('no collective hub in this process and it is not a cluster worker: call collective.cluster() first');
    const rejected = Promise.reject(error);
    rejected.catch(() => undefined);
    return rejected;
  }
  return member.ready();
}

// A plain thread (not a pool's): its parent hands it a port with `collective.attachThread(worker)`.
function joinFromParent(options: ReadyOptions): Promise<void> {
  const port = parentPort!;
  const timeout = options.timeout ?? 5000;
  return new Promise<Member>((resolve, reject) => {
    const timer = setTimeout(() => {
      port.off('message', onMessage);
      reject(new TimeoutError(`no port from the parent thread within ${timeout} ms: call collective.attachThread(worker) there`));
    }, timeout);
    const onMessage = (message: unknown): void => {
      if (!isCollectiveIpcMessage(message)) return;
      clearTimeout(timer);
      port.off('message', onMessage);
      const join = message.collective as import('node:worker_threads').MessagePort;
      resolve(joinThroughPort(join, 'thread', options.timeout === undefined ? {} : { readyTimeout: options.timeout }));
    };
    port.on('message', onMessage);
  }).then((member) => member.ready());
}

// Where this process's threads join: its hub, or (in a cluster worker) the worker's member,
// through the middle tier.
function threadParent(): AttachThread {
  const hub = slot.hub;
  if (hub !== undefined) return (link) => hub.attachMember(link);
  const member = isMainThread ? memberOfThisWorker() : undefined;
  if (member === undefined) {
    throw new NotReadyError(
      'no collective store for threads in this process: call collective.cluster() first (or, in a cluster worker, use it ' +
        'after the hub started), or use hub.pool() on a Collective of your own',
    );
  }
  if (slot.threadRelay === undefined) {
    const relay = new ThreadRelay(member, logger('threads', 'worker'));
    slot.threadRelay = relay;
    member.once('close', () => {
      if (slot.threadRelay === relay) slot.threadRelay = undefined;
    });
  }
  const relay = slot.threadRelay;
  return (link) => relay.attach(link);
}

/**
 * A tinypool whose threads are members of this process's store (in the primary, of its hub;
 * in a cluster worker, of that worker: three tiers). Takes tinypool's options and returns a
 * real Tinypool; tinypool is loaded on the first call only.
 */
export function pool(options: PoolOptions = {}): import('tinypool').Tinypool {
  return createPool(threadParent(), options);
}

/**
 * Makes a plain `worker_threads` Worker a member of this process's store: it gets one message,
 * `{ collective: port }`, and uses `collective.ready()` and the rest as usual.
 */
export function attachThread(worker: Worker): void {
  attachWorker(threadParent(), worker);
}

/** The value at `path` in this process's store (deep-frozen), or `undefined`. Sync. */
export function get(path?: Path): JsonValue | undefined {
  return store().get(path);
}

/**
 * Sets the value at `path`; resolves when the hub applied it. The third argument is options
 * (`{ ttl }`: the value expires that many ms later; without it a set clears any expiry at
 * `path`, unless `{ keepTtl: true }`; `{ durable: true }`: resolves once the hub also has it on
 * disk) or collective.js's operation (`OPERATIONS.INCREMENT` adds `value`, `OPERATIONS.DELETE`
 * deletes).
 */
export function set<T>(path: Path, value: T & JsonInput<T>, options?: (SetOptions & DurableOption) | Operation | true): Promise<void> {
  return store().set(path, value, options);
}

/** Deletes the value at `path` (and its expiry). */
function del(path: Path): Promise<void> {
  return store().delete(path);
}
export { del as delete };

/** Adds `by` (default 1) to the number at `path`; `{ ttl }` arms an expiry only where none is armed (a fixed window). */
export function incr(path: Path, by?: number, options?: ExpiryOptions & DurableOption): Promise<void> {
  return store().incr(path, by, options);
}

/** Subtracts `by` (default 1) from the number at `path`; options as for `incr`. */
export function decr(path: Path, by?: number, options?: ExpiryOptions & DurableOption): Promise<void> {
  return store().decr(path, by, options);
}

/** Appends one element to the list at `path`; options as for `incr`. */
export function append<T>(path: Path, value: T & JsonInput<T>, options?: ExpiryOptions & DurableOption): Promise<void> {
  return store().append(path, value, options);
}

/** Compare-and-set, decided by the hub; resolves with whether it set. Options as for `set`. */
export function cas<T>(path: Path, expected: unknown, next: T & JsonInput<T>, options?: SetOptions & DurableOption): Promise<boolean> {
  return store().cas(path, expected, next, options);
}

/**
 * (Re)arms the expiry of what is at `path`: it expires `ttl` ms after the hub applies this
 * (an integer from 1 to ten years); `null` makes it permanent again. Resolves with whether
 * something was there (nothing there, nothing happens), as the hub saw it.
 */
export function expire(path: Path, ttl: number | null): Promise<boolean> {
  return store().expire(path, ttl);
}

/**
 * Milliseconds before the value at `path` expires (by its own expiry or one set above it), by
 * this process's clock; `undefined` when none is armed or nothing is there. Sync.
 */
export function ttl(path: Path): number | undefined {
  return store().ttl(path);
}

/** Calls `listener(value, change)` whenever the value at `path` changes; returns the unsubscribe. */
export function watch(path: Path, listener: WatchListener): () => void {
  return store().watch(path, listener);
}

/**
 * Resolves once every write made so far in this process was applied by the hub; with
 * `{ durable: true }`, once the hub has every one on disk (ERR_COLLECTIVE_NOT_PERSISTENT where
 * it has no `persist`).
 */
export function flush(options?: DurableOption): Promise<void> {
  return store().flush(options);
}

/** Counters of this process's store: the hub's, or the member's in a worker. */
export function stats(): CollectiveStats | MemberStats {
  return store().stats();
}

type SeedArguments =
  | [local?: HostAddress, allHosts?: readonly HostAddress[], callback?: (collective: Collective) => void]
  | [local?: HostAddress, allHosts?: readonly HostAddress[], options?: CollectiveOptions, callback?: (collective: Collective) => void];

/**
 * The default export (`import collective from 'collective'`, and `require('collective')`
 * itself): collective.js's constructor, `new collective(local, allHosts, callback)`, which
 * makes a hub (a `Collective`), with every module-level function, the hub class, the error
 * classes, `OPERATIONS` and `MAX_TTL_MS` on it.
 */
export interface CollectiveDefault {
  /** collective.js's constructor: a hub listening at `local`, linked to `allHosts` (see `Collective`). */
  new (...args: SeedArguments): Collective;
  readonly prototype: Collective;
  readonly cluster: typeof clusterHub;
  readonly pool: typeof pool;
  readonly attachThread: typeof attachThread;
  readonly ready: typeof ready;
  readonly get: typeof get;
  readonly set: typeof set;
  readonly delete: typeof del;
  readonly incr: typeof incr;
  readonly decr: typeof decr;
  readonly append: typeof append;
  readonly cas: typeof cas;
  readonly expire: typeof expire;
  readonly ttl: typeof ttl;
  readonly watch: typeof watch;
  readonly flush: typeof flush;
  readonly stats: typeof stats;
  readonly isCollectiveIpcMessage: typeof isCollectiveIpcMessage;
  readonly OPERATIONS: typeof OPERATIONS;
  readonly MAX_TTL_MS: typeof MAX_TTL_MS;
  readonly Collective: typeof Collective;
  readonly CollectiveError: typeof CollectiveError;
  readonly ClosedError: typeof ClosedError;
  readonly NotReadyError: typeof NotReadyError;
  readonly ProtocolError: typeof ProtocolError;
  readonly AuthError: typeof AuthError;
  readonly TimeoutError: typeof TimeoutError;
  readonly PeerError: typeof PeerError;
  readonly PersistError: typeof PersistError;
  /** Itself, for CommonJS consumers compiled from `import collective from 'collective'`. */
  readonly default: CollectiveDefault;
}

// A function, not the class itself, so that the hub class does not carry the module-level
// `get`/`set` as statics. `new` on it makes a real `Collective` (a constructor that returns an
// object gives that object), and `instanceof` agrees through the shared prototype.
function CollectiveSeed(this: unknown, ...args: SeedArguments): Collective {
  if (new.target === undefined) throw new TypeError("Class constructor Collective cannot be invoked without 'new'");
  return new Collective(...(args as ConstructorParameters<typeof Collective>));
}
Object.defineProperty(CollectiveSeed, 'name', { value: 'Collective' });
CollectiveSeed.prototype = Collective.prototype;

const collective = Object.assign(CollectiveSeed, {
  cluster: clusterHub,
  pool,
  attachThread,
  ready,
  get,
  set,
  delete: del,
  incr,
  decr,
  append,
  cas,
  expire,
  ttl,
  watch,
  flush,
  stats,
  isCollectiveIpcMessage,
  OPERATIONS,
  MAX_TTL_MS,
  Collective,
  CollectiveError,
  ClosedError,
  NotReadyError,
  ProtocolError,
  AuthError,
  TimeoutError,
  PeerError,
  PersistError,
}) as unknown as CollectiveDefault;
// `require('collective')` is this object (see require.cjs): a CommonJS consumer compiled from
// `import collective from 'collective'` reads `.default`, and `__esModule` says to.
Object.defineProperty(collective, 'default', { value: collective });
Object.defineProperty(collective, '__esModule', { value: true });

export default collective;
