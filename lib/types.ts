import type { NodeId } from './core/clock.js';
import type { Path } from './core/path.js';
import type { JsonInput, JsonValue } from './core/value.js';
import type { Change, WatchListener } from './core/watchers.js';
import type { CollectiveErrorCode, PeerError } from './errors.js';
import type { PeerStats } from './mesh/types.js';
import type { PersistStats } from './hub/persist/persistence.js';
import type { RedisHubStats, RedisStats } from './mesh/redis/types.js';
import type { DurableOption } from './operations.js';
import type { MemberLinkStats } from './hub/member-server.js';

export type { Change, DurableOption, JsonInput, JsonValue, MemberLinkStats, NodeId, Path, PeerStats, PersistStats, RedisHubStats, RedisStats, WatchListener };

/** Where a hub listens or where a peer hub is reached (the seed's `{ host, port }`). */
export interface HostAddress {
  /** Host name or IP address. @default 'localhost' */
  host?: string;
  /** TCP port. */
  port: number;
}

/** Options of a hub (`new Collective(...)`, `Collective.start(...)`). */
export interface CollectiveOptions {
  /**
   * This hub's node id, the tie-break of its stamps. Leave it unset: a hub that restarts
   * without its state must come back under a new id, which is what the default gives.
   * @default a random 12-character id
   */
  id?: string;
  /** Deepest path accepted, in segments. @default 32 */
  maxDepth?: number;
  /** Largest value accepted, in bytes of JSON text. @default 1048576 (1 MiB) */
  maxValueBytes?: number;
  /**
   * The secret shared by every hub of the group: each connection runs a mutual HMAC-SHA256
   * challenge-response with it (it never travels). Without it, hubs are not authenticated,
   * and listening on a non-loopback address is refused unless `insecure` is set.
   * @default undefined (no authentication)
   */
  secret?: string;
  /** Allow listening on a non-loopback address without `secret`. @default false */
  insecure?: boolean;
  /**
   * Wrap every link between hubs in mutual TLS: `key` and `cert` of this hub, `ca` trusted
   * for the others (Node's `tls.SecureContextOptions`). Each side must present a certificate
   * the other's `ca` trusts. Combine with `secret` for the challenge-response as well.
   * @default undefined (plain TCP)
   */
  tls?: import('node:tls').SecureContextOptions;
  /** Peers whose wall clock differs from this hub's by more than this are refused. @default 60000 */
  maxClockSkewMs?: number;
  /** A connection that has not completed its handshake by then is dropped. @default 5000 */
  handshakeTimeoutMs?: number;
  /** An idle link pings this often; a peer silent for 3 times this is dropped and redialed. @default 1000 */
  heartbeatMs?: number;
  /** Largest frame sent or accepted between hubs. @default 16777216 (16 MiB) */
  maxFrameBytes?: number;
  /** Bytes that may wait to be sent to one peer; past this for 2 s the link is dropped and resynced later. @default 67108864 (64 MiB) */
  maxPeerBacklog?: number;
  /** How often a hub asks each peer for anything it missed (repairs partial partitions). @default 2000 */
  antiEntropyMs?: number;
  /** Longest wait between redials of a peer that is down (the wait doubles from 100 ms, with jitter). @default 5000 */
  reconnectMaxMs?: number;
  /**
   * Keep this hub's store on disk, in a directory of its own: it survives a restart, a deploy
   * and kill -9, and the hub comes back under its id (see the README, Persistence).
   * @default undefined (memory only)
   */
  persist?: PersistOptions;
  /**
   * Link this hub with the other hubs of a group through Redis Streams instead of the TCP mesh
   * (see the README, Several machines through Redis). Not with `listen`/`peers` (or the seed's
   * `local`/`allHosts`): one tier between hubs per hub. Needs the `redis` package.
   * @default undefined (the TCP mesh, or alone)
   */
  redis?: RedisOptions;
  /**
   * Serve the hub's dashboard: a live page of its links, members and store, a server-sent
   * event stream of its stats and a Prometheus `/metrics` (see the README, Dashboard). The hub
   * starts once it listens. Also later, with `hub.serveDashboard()`.
   * @default undefined (no dashboard)
   */
  dashboard?: DashboardOptions;
}

/** Where and for whom a hub serves its dashboard (`dashboard`, `serveDashboard()`). */
export interface DashboardOptions {
  /** The TCP port; 0 picks a free one (read it back from `url`). @default 9464 */
  port?: number;
  /** The address to listen on. Any other than loopback needs a `token` (or `insecure`). @default '127.0.0.1' */
  host?: string;
  /**
   * A secret every request must carry: `Authorization: Bearer <token>`, or `?token=<token>`
   * in the page's address (the page passes it on). Without one, only loopback is served.
   * @default undefined (no token)
   */
  token?: string;
  /** Serve a non-loopback address without a `token`. @default false */
  insecure?: boolean;
  /** How often the event stream sends the hub's stats, in ms. @default 1000 */
  intervalMs?: number;
}

/** How a hub reaches its group through Redis (`redis`). */
export interface RedisOptions {
  /** The Redis server: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. @default 'redis://localhost:6379' */
  url?: string;
  /** The group's name: hubs with the same name (and server) share one store. Letters, digits, `_.-`, at most 64. */
  group: string;
  /**
   * The name this hub runs under, one live hub per name (a machine's host name, say): a hub
   * that restarts without its state under the same name retires its life before at once,
   * instead of leaving GC waiting for it. A second live hub under a name in use is refused
   * (`ERR_COLLECTIVE_REDIS_NAME_IN_USE`).
   * @default undefined (a hub that vanishes without closing stays counted by GC until it is back)
   */
  name?: string;
  /**
   * Options handed to node-redis's `createClient` as they are (`socket: { tls, ca, ... }`,
   * `username`, `password`, `database`, `socket.reconnectStrategy`, ...); `url` is added, and
   * replies are always RESP2.
   * @default {}
   */
  client?: Record<string, unknown>;
  /** How often the hub announces its frontier to the group and reads the others'. @default 100 */
  announceMs?: number;
  /** How often the leader (the live hub with the lowest id) stores a snapshot for newcomers, when something changed. @default 10000 */
  snapshotMs?: number;
  /** Own writes kept in memory for a second append after Redis loses them; past it they come from the store itself. @default 1000000 */
  maxQueuedOps?: number;
}

/** Where and how a hub keeps its store on disk (`persist`). */
export interface PersistOptions {
  /** The directory (created if missing). One hub per directory: a second is refused while the first lives. */
  dir: string;
  /**
   * When the log is fsynced. `'always'`: after each batch of writes (a turn of the event
   * loop); a write resolves at once, a `{ durable: true }` write once its batch is fsynced.
   * `'interval'`: every `intervalMs`. `'never'`: the OS decides. kill -9 loses nothing in any
   * mode (every batch is written before it is shared); a crash of the machine loses what was
   * not fsynced yet: nothing acknowledged as durable, up to `intervalMs` of other writes with
   * `'interval'`, up to what the OS held with `'never'`.
   * @default 'interval'
   */
  fsync?: 'always' | 'interval' | 'never';
  /** How often `fsync: 'interval'` fsyncs, in ms. @default 1000 */
  intervalMs?: number;
  /**
   * Logs written since the last snapshot past this many bytes make a new snapshot, and so do
   * logs holding 400k ops, whatever their bytes: what a start after kill -9 replays at most.
   * @default 16777216 (16 MiB)
   */
  compactBytes?: number;
}

/** Options of `Collective.start()`: the hub options plus where it is. */
export interface StartOptions extends CollectiveOptions {
  /** The address this hub listens on for peer hubs. @default undefined (does not listen) */
  listen?: HostAddress;
  /** Every hub of the group; this hub's own entry is skipped. @default [] */
  peers?: readonly HostAddress[];
}

/** A snapshot of a hub's counters, for monitoring. */
export interface CollectiveStats {
  /** This hub's node id. */
  id: string;
  /** Peer hubs: address dialed, node id, this hub's stream to it, its stream to this hub. */
  peers: PeerStats[];
  /** Links to peer hubs open now, both directions, their handshake done or not. */
  connections: number;
  /** Peer connections dropped for a bad frame or a protocol violation. */
  rejectedFrames: number;
  /** Peer connections refused for failing authentication. */
  authFailures: number;
  /** Peer connections dropped for not completing the handshake in time. */
  handshakeTimeouts: number;
  /**
   * Every link to a peer refused or dropped with a reason, counted by the reason's code
   * (`ERR_COLLECTIVE_AUTH`, `ERR_COLLECTIVE_PEER_UNREACHABLE`, ...; see the README's error
   * codes): the same failures `peer:error` reports.
   */
  rejections: Partial<Record<CollectiveErrorCode, number>>;
  /** Ops applied since start, local and remote. */
  opsApplied: number;
  /** Ops applied per second, over the last second. */
  opsPerSecond: number;
  /** Bytes written to members and peers and not yet taken by them. */
  queuedBytes: number;
  /** Ops this hub stamped itself (its own writes and its members'). */
  opsLocal: number;
  /** Members (workers, threads) attached now. */
  members: number;
  /** Each member attached now: who it is, its writes in flight, what waits to be sent to it. */
  memberList: MemberLinkStats[];
  /** Member messages dropped as malformed; each also dropped that member's link. */
  rejectedMessages: number;
  /** Member writes refused (bad path or value); the member's promise rejects. */
  rejectedIntents: number;
  /** Live watch listeners. */
  watchers: number;
  /** Bookkeeping held besides the data: trie nodes and op records (what GC keeps bounded). */
  metadata: { nodes: number; ops: number };
  /**
   * Metadata collection between linked hubs: rounds that folded, and rounds that had to wait
   * (a hub of the group down or not heard from lately); `members` counts the other hubs GC
   * waits for; `horizon` is the time (ms since the epoch) below which this hub folded its
   * metadata away, if it did.
   */
  gc: { runs: number; waits: number; members: number; horizon: number | undefined };
  /** Expiries this hub has taken (the subtrees its timer deleted), and when the next is due (ms since the epoch). */
  expiry: { fired: number; nextDue: number | undefined };
  /** When this hub started, in ms since the epoch. */
  startedAt: number;
  /** With `persist`: the log, fsyncs and compactions. */
  persist?: PersistStats;
  /** With `redis`: the group's hubs, the streams, what was refused. */
  redis?: RedisStats;
  /** With a dashboard: its address, its event-stream clients, and those that fell behind. */
  dashboard?: { url: string; clients: number; queuedBytes: number; missed: number; dropped: number; refused: number };
}

/** Events of a hub. */
export interface CollectiveEvents {
  /** This hub can stream to a peer (handshake done, synced). */
  'peer:up': [id: string, address: string];
  /** The link to a peer was lost; it is redialed with backoff. */
  'peer:down': [id: string, address: string];
  /**
   * A link to a peer was refused or failed: a wrong secret or a secret on one side only, a
   * clock too far off, another protocol version, something that is not a collective hub, a
   * peer unreachable, silent or too far behind. The error's `code` says which, `address` and
   * `peer` say who. With no listener, each becomes a process warning the first time per
   * address and code (an unreachable peer once it failed 10 dials in a row).
   */
  'peer:error': [error: PeerError];
  /** The hub could not start (for example its port is taken). */
  error: [error: Error];
  /** Every applied change, local or remote. */
  change: [change: Change];
  /** A member (worker, thread) attached; its number at this hub. */
  'member:up': [member: number];
  /** A member left (exited, or its link closed). */
  'member:down': [member: number];
  /** The hub was closed. */
  close: [];
}

/** Options of `collective.cluster()` in the primary. */
export interface ClusterOptions extends CollectiveOptions {
  /** The address this hub listens on for peer hubs. @default undefined (does not listen) */
  listen?: HostAddress;
  /** Every hub of the group (this hub's own entry is skipped). @default [] */
  peers?: readonly HostAddress[];
  /**
   * How many workers to fork. 0: fork none; the hub serves the workers the application forks
   * itself (and those it forked before the call).
   * @default os.availableParallelism()
   */
  workers?: number;
  /** The file workers run, as `cluster.setupPrimary({ exec })`. @default process.argv[1] */
  exec?: string;
  /** Arguments for the workers, as `cluster.setupPrimary({ args })`. @default process.argv.slice(2) */
  args?: readonly string[];
  /**
   * Replace a worker that dies (not one stopped with `worker.kill()` or `disconnect()`). A
   * worker that dies within 5 s of its start doubles the wait before the next one, up to 10 s,
   * so a crash loop does not spin.
   * @default true
   */
  respawn?: boolean;
  /**
   * Bytes that may wait to be written to one worker. A worker that stops reading (stuck in
   * synchronous work) while writes flow would otherwise make the primary buffer without bound:
   * once its backlog has stayed over this for 2 s while writes kept coming, it is killed and,
   * with `respawn`, replaced by a worker that starts from a snapshot. Its unacknowledged writes
   * are lost, as with any worker that dies.
   * @default 67108864 (64 MiB)
   */
  maxWorkerBacklog?: number;
}

/** Options of `collective.ready()` in a worker. */
export interface ReadyOptions {
  /** How long to wait for the hub's snapshot before rejecting. @default 5000 */
  timeout?: number;
}
