import cluster from 'node:cluster';
import { isMainThread, parentPort, type Worker } from 'node:worker_threads';
import { AuthError, ClosedError, CollectiveError, NotReadyError, ProtocolError, TimeoutError } from './errors.js';
import type { Path } from './core/path.js';
import type { JsonValue } from './core/value.js';
import type { WatchListener } from './core/watchers.js';
import { startCluster } from './cluster.js';
import { connectToPrimary } from './links/primary.js';
import { Collective } from './roles/hub.js';
import { isCollectiveIpcMessage } from './links/ipc.js';
import { logger } from './log.js';
import { Member, type MemberStats } from './roles/member.js';
import { ThreadRelay } from './roles/thread-relay.js';
import { attachWorker, createPool, type AttachThread, type PoolOptions } from './threads/pool.js';
import { joinThroughPort, threadSlot } from './threads/slot.js';
import type { ClusterOptions, CollectiveStats, ReadyOptions } from './types.js';

// The store of this process: the hub started here by cluster(), or, in a worker, the member
// connected to the hub in the primary (created on first use).
let hubHere: Collective | undefined;
let memberHere: Member | undefined;
// In a cluster worker with threads of its own: the middle tier serving them.
let threadRelay: ThreadRelay | undefined;

function memberOfThisWorker(options: ReadyOptions = {}): Member | undefined {
  // A thread's member lives in a global slot (ESM and CommonJS copies of this module share it).
  // Threads inherit their process's environment, so this test comes before the cluster one.
  if (!isMainThread) return threadSlot().member;
  if (memberHere !== undefined) return memberHere;
  if (!cluster.isWorker) return undefined;
  const link = connectToPrimary();
  if (link === undefined) return undefined;
  memberHere = new Member(link, options.timeout === undefined ? {} : { readyTimeout: options.timeout });
  return memberHere;
}

function store(): Collective | Member {
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
  if (hubHere !== undefined) throw new TypeError('collective.cluster() was already called in this process');
  const hub = await startCluster(options);
  hubHere = hub;
  hub.once('close', () => {
    if (hubHere === hub) hubHere = undefined;
  });
  return hub;
}

/**
 * Resolves once this process can read: in a worker, when its member holds the hub's snapshot
 * (rejects with `ERR_COLLECTIVE_TIMEOUT` after `timeout` ms if no hub answers); in a process
 * with a hub, at once.
 */
export function ready(options: ReadyOptions = {}): Promise<void> {
  if (hubHere !== undefined) return Promise.resolve();
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
  if (hubHere !== undefined) {
    const hub = hubHere;
    return (link) => hub.attachMember(link);
  }
  const member = isMainThread ? memberOfThisWorker() : undefined;
  if (member === undefined) {
    throw new NotReadyError(
      'no collective store for threads in this process: call collective.cluster() first (or, in a cluster worker, use it ' +
        'after the hub started), or use hub.pool() on a Collective of your own',
    );
  }
  if (threadRelay === undefined) {
    const relay = new ThreadRelay(member, logger('threads', 'worker'));
    threadRelay = relay;
    member.once('close', () => {
      if (threadRelay === relay) threadRelay = undefined;
    });
  }
  const relay = threadRelay;
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

/** Sets the value at `path`; resolves when the hub applied it. */
export function set(path: Path, value: unknown): Promise<void> {
  return store().set(path, value);
}

/** Deletes the value at `path`. */
function del(path: Path): Promise<void> {
  return store().delete(path);
}
export { del as delete };

/** Adds `by` (default 1) to the number at `path`. */
export function incr(path: Path, by?: number): Promise<void> {
  return store().incr(path, by);
}

/** Subtracts `by` (default 1) from the number at `path`. */
export function decr(path: Path, by?: number): Promise<void> {
  return store().decr(path, by);
}

/** Appends one element to the list at `path`. */
export function append(path: Path, value: unknown): Promise<void> {
  return store().append(path, value);
}

/** Compare-and-set, decided by the hub; resolves with whether it set. */
export function cas(path: Path, expected: unknown, next: unknown): Promise<boolean> {
  return store().cas(path, expected, next);
}

/** Calls `listener(value, change)` whenever the value at `path` changes; returns the unsubscribe. */
export function watch(path: Path, listener: WatchListener): () => void {
  return store().watch(path, listener);
}

/** Resolves once every write made so far in this process was applied by the hub. */
export function flush(): Promise<void> {
  return store().flush();
}

/** Counters of this process's store: the hub's, or the member's in a worker. */
export function stats(): CollectiveStats | MemberStats {
  return store().stats();
}

/**
 * The default export, for `import collective from 'collective'`: every module-level function,
 * the hub class and the error classes on one object.
 */
const collective = {
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
  watch,
  flush,
  stats,
  Collective,
  CollectiveError,
  ClosedError,
  NotReadyError,
  ProtocolError,
  AuthError,
  TimeoutError,
} as const;

export default collective;
