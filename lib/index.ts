/**
 * collective: a shared, replicated key/value store for every process of a Node.js
 * application. This file only re-exports; see README.md for the guide.
 */
export {
  default,
  append,
  attachThread,
  pool,
  cas,
  clusterHub as cluster,
  decr,
  delete,
  expire,
  flush,
  get,
  incr,
  ready,
  set,
  stats,
  ttl,
  watch,
  type CollectiveDefault,
} from './collective.js';
export { MAX_TTL_MS, type ExpiryOptions, type SetOptions } from './core/write-options.js';
export { OPERATIONS, type DurableOption, type Operation } from './operations.js';
export type { MemberStats } from './member/member.js';
export type { PoolOptions } from './threads/pool.js';
export { isCollectiveIpcMessage } from './links/ipc.js';
export { Collective } from './hub/hub.js';
export {
  AuthError,
  ClosedError,
  CollectiveError,
  NotReadyError,
  PeerError,
  PersistError,
  ProtocolError,
  TimeoutError,
  type CollectiveErrorCode,
  type CollectiveInputErrorCode,
  type LinkErrorCode,
  type PersistErrorCode,
} from './errors.js';
export type {
  Change,
  ClusterOptions,
  ReadyOptions,
  CollectiveEvents,
  CollectiveOptions,
  CollectiveStats,
  DashboardOptions,
  HostAddress,
  JsonInput,
  JsonValue,
  MemberLinkStats,
  NodeId,
  Path,
  PeerStats,
  PersistOptions,
  PersistStats,
  RedisHubStats,
  RedisOptions,
  RedisStats,
  StartOptions,
  WatchListener,
} from './types.js';
