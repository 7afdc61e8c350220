/**
 * Every default of collective's options, written once: the options types document each with
 * `@default`, and code reads it from here (never a literal of its own). Sizes in bytes, times in
 * milliseconds.
 */
export const DEFAULTS = Object.freeze({
  /** Deepest path accepted, in segments. */
  maxDepth: 32,
  /** Largest value accepted, in bytes of JSON text. */
  maxValueBytes: 1024 * 1024,
  /** Peers whose wall clock differs by more are refused. */
  maxClockSkewMs: 60_000,
  /** A connection that has not completed its handshake by then is dropped. */
  handshakeTimeoutMs: 5000,
  /** An idle link pings this often; a peer silent for 3 times this is dropped. */
  heartbeatMs: 1000,
  /** Largest frame sent or accepted between hubs. */
  maxFrameBytes: 16 * 1024 * 1024,
  /** Bytes that may wait to be sent to one peer before it counts as too far behind. */
  maxPeerBacklog: 64 * 1024 * 1024,
  /** Bytes that may wait to be written to one worker before it counts as too far behind. */
  maxWorkerBacklog: 64 * 1024 * 1024,
  /** How long a backlog may stay over its limit before the link is dropped. */
  lagGraceMs: 2000,
  /** How often a hub asks each peer for anything it missed. */
  antiEntropyMs: 2000,
  /** The first wait before redialing a peer that is down (it doubles from there, with jitter). */
  reconnectMinMs: 100,
  /** The longest wait between redials of a peer that is down. */
  reconnectMaxMs: 5000,
  /** How long a member waits for its hub's snapshot before `ready()` rejects. */
  readyTimeoutMs: 5000,
  /** When a persisted hub fsyncs its log. */
  persistFsync: 'interval' as 'always' | 'interval' | 'never',
  /** How often `fsync: 'interval'` fsyncs. */
  persistIntervalMs: 1000,
  /** Logs past this many bytes since the last snapshot make a new one. */
  persistCompactBytes: 16 * 1024 * 1024,
  /**
   * Logs holding this many ops since the last snapshot make a new one, whatever their bytes:
   * what a start after kill -9 replays at most (small ops take a few bytes each in the log).
   */
  persistCompactOps: 400_000,
  /** The Redis server of `redis` without a `url`. */
  redisUrl: 'redis://localhost:6379',
  /** How often a hub linked through Redis announces its frontier and reads the others'. */
  redisAnnounceMs: 100,
  /** How often the leader of a Redis group stores a snapshot, when something changed. */
  redisSnapshotMs: 10_000,
  /** Own writes a hub linked through Redis keeps for a second append. */
  redisMaxQueuedOps: 1_000_000,
  /** The largest group snapshot read from Redis (the most a Redis string holds). */
  redisMaxSnapshotBytes: 512 * 1024 * 1024,
  /** How often a worker that serves threads tells its hub their figures (when they changed). */
  servedReportMs: 1000,
  /** Where the dashboard listens: loopback, so that nobody else reaches it by default. */
  dashboardHost: '127.0.0.1',
  /** The dashboard's port when `dashboard: {}` names none (Prometheus exporters' range). */
  dashboardPort: 9464,
  /** How often the dashboard's event stream sends the hub's stats. */
  dashboardIntervalMs: 1000,
  /** Event-stream clients served at once; more are refused (503). */
  dashboardMaxClients: 256,
  /** Bytes that may wait for one event-stream client: past it, the client misses events (nothing more is queued for it). */
  dashboardClientBacklog: 256 * 1024,
  /** An event-stream client that stays past its backlog this long is disconnected. */
  dashboardSlowClientMs: 10_000,
  /** Samples of ops/s the dashboard keeps for a page that opens later (one per interval: 10 minutes). */
  dashboardHistory: 600,
  /** The most entries of a subtree `/state` lists at once (`limit`). */
  dashboardPageSize: 100,
  /** The largest subtree `/state` returns whole, in nodes (objects, arrays and leaves); larger ones are listed by pages. */
  dashboardMaxStateNodes: 10_000,
});
