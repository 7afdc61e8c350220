import cluster from 'node:cluster';
import { AuthError, ClosedError, CollectiveError, NotReadyError, ProtocolError, TimeoutError } from './errors.js';
import type { Path } from './core/path.js';
import type { JsonValue } from './core/value.js';
import type { WatchListener } from './core/watchers.js';
import { startCluster } from './cluster.js';
import { connectToPrimary } from './links/primary.js';
import { Collective } from './roles/hub.js';
import { Member, type MemberStats } from './roles/member.js';
import type { ClusterOptions, CollectiveStats, ReadyOptions } from './types.js';

// The store of this process: the hub started here by cluster(), or, in a worker, the member
// connected to the hub in the primary (created on first use).
let hubHere: Collective | undefined;
let memberHere: Member | undefined;

function memberOfThisWorker(options: ReadyOptions = {}): Member | undefined {
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
  const member = memberOfThisWorker(options);
  if (member === undefined) {
    const error = new NotReadyError('no collective hub in this process and it is not a cluster worker: call collective.cluster() first');
    const rejected = Promise.reject(error);
    rejected.catch(() => undefined);
    return rejected;
  }
  return member.ready();
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
