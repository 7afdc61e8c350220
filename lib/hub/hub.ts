import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { Tinypool } from 'tinypool';
import { ClosedError, handled } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { isAfter, type NodeId } from '../core/clock.js';
import { ExpiryTimer, turnClock } from '../core/expiry-timer.js';
import { FoldPacing } from '../core/fold-pacing.js';
import { touchesExpiry, type Op } from '../core/op.js';
import { formatPath, type Path, type Segments } from '../core/path.js';
import { Replica, type ReplicaOptions } from '../core/replica.js';
import { checkAmount } from '../core/replica-types.js';
import { computeHorizon } from '../core/horizon.js';
import type { Link } from '../links/link.js';
import { systemClock } from '../mesh/clock.js';
import { Folding } from '../mesh/gc.js';
import { GC_PACE_MS } from '../mesh/membership.js';
import type { PeerProtocol } from '../mesh/protocol.js';
import type { TcpMesh } from '../mesh/tcp/mesh.js';
import { connectRedisTier } from '../mesh/redis/connect.js';
import type { RedisTier } from '../mesh/redis/tier.js';
import { HubRelay } from './relay.js';
import { attachWorker, createPool, type PoolOptions } from '../threads/pool.js';
import type { JsonInput, JsonValue } from '../core/value.js';
import { OPERATIONS, setArguments, wantsDurable, type DurableOption, type Operation } from '../operations.js';
import type { ExpiryOptions, SetOptions } from '../core/write-options.js';
import type { WatchListener } from '../core/watchers.js';
import type { CollectiveEvents, CollectiveOptions, CollectiveStats, DashboardOptions, HostAddress, StartOptions } from '../types.js';
import { dashboardSettings, hubSettings, type HubSettings } from './settings.js';
import { DashboardSlot } from './dashboard-slot.js';
import { PeerWarnings } from './warnings.js';
import { HubCounters } from './counters.js';
import { keepGroup, tcpTier } from './tcp-tier.js';
import { hubStats, SampledMetadata } from './stats.js';
import { notPersistent, Persistence } from './persist/persistence.js';
import { restoreReplica } from './persist/restore.js';

type Callback = (collective: Collective) => void;

/**
 * A hub: the replica of one machine, with the store API. Constructed the way the original
 * collective.js was, `new Collective(local, allHosts, callback)`, or with `Collective.start()`.
 * With `local` it listens for other hubs, with `allHosts` it dials them (the peer protocol,
 * mesh/protocol.ts, over TCP, mesh/tcp/mesh.ts); without either it is alone, and keeps no op
 * records at all.
 */
export class Collective extends EventEmitter<CollectiveEvents> {
  /** This hub's node id. */
  readonly id: NodeId;
  readonly #settings: HubSettings;
  readonly #replica: Replica;
  readonly #relay: HubRelay;
  readonly #protocol: PeerProtocol | undefined;
  readonly #mesh: TcpMesh | undefined;
  // Linked through Redis instead: set once the `redis` package is loaded.
  #redis: RedisTier | undefined;
  readonly #folding: Folding | undefined;
  readonly #expiryTimer: ExpiryTimer;
  readonly #started: Promise<void>;
  readonly #log: Logger;
  readonly #warnings = new PeerWarnings();
  readonly #persistence: Persistence | undefined;
  #closed = false;
  #collectScheduled = false;
  // How many nodes this hub's writes make between its folds while alone (see FoldPacing).
  readonly #foldPacing = new FoldPacing();
  readonly #counters = new HubCounters();
  readonly #sampledMetadata: SampledMetadata;
  readonly #dashboard: DashboardSlot;

  constructor(local?: HostAddress, allHosts?: readonly HostAddress[], options?: CollectiveOptions | Callback, callback?: Callback) {
    super();
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    const settings = hubSettings(local, allHosts, options ?? {});
    this.#settings = settings;
    const replicaOptions: ReplicaOptions = {
      expiryClock: turnClock(),
      onApplied: (op, restated) => this.#applied(op, restated),
      onReplaced: () => {
        this.#relay.replaced();
        this.#persistence?.compactSoon();
      },
      // Its logs hold its own writes under the stamps they had: never to be read back now.
      onRestamped: () => this.#persistence?.compactNow(),
      maxDepth: settings.maxDepth,
      maxValueBytes: settings.maxValueBytes,
      ...(settings.id === undefined ? {} : { id: settings.id }),
    };
    if (settings.persist === undefined) this.#replica = new Replica(replicaOptions);
    else {
      this.#persistence = Persistence.open(settings.persist, { maxDepth: settings.maxDepth, maxValueBytes: settings.maxValueBytes }, logger('persist', settings.persist.dir));
      this.#replica = restoreReplica(this.#persistence, replicaOptions, settings.persist.dir);
    }
    this.id = this.#replica.id;
    // Alone, it folds from the pacing's first count on, not after FOLD_EVERY nodes (see FoldPacing).
    this.#replica.foldEvery = this.#foldPacing.every;
    this.#log = logger('hub', this.id);
    this.#persistence?.start(this.id, (readings) => this.#replica.snapshot(readings));
    this.#relay = new HubRelay(this.#replica, logger('relay', this.id), () => this.#durable());
    this.#relay.server.on('member:up', (member) => this.#notify('member:up', member));
    this.#relay.server.on('member:down', (member) => this.#notify('member:down', member));
    this.#expiryTimer = new ExpiryTimer(
      () => this.#replica.nextDue(),
      () => this.#expired(),
    );
    this.#sampledMetadata = new SampledMetadata(() => this.#replica.metadata());
    const networked = local !== undefined || settings.peers.length > 0 || settings.redis !== undefined;
    // Alone, the hub has seen every op there is and keeps no op records (see Replica.setSolo).
    this.#replica.setSolo(!networked);
    if (networked && settings.redis === undefined) {
      const log = logger('mesh', this.id);
      const { protocol, mesh } = tcpTier(this.#replica, settings, log);
      this.#protocol = protocol;
      this.#mesh = mesh;
      if (this.#persistence !== undefined) keepGroup(protocol, this.#persistence, log);
      protocol.on('peer:up', (id, address) => this.#notify('peer:up', id, address));
      protocol.on('peer:down', (id, address) => this.#notify('peer:down', id, address));
      protocol.on('peer:error', (error, warnOnceAs) => {
        if (this.listenerCount('peer:error') > 0) this.#notify('peer:error', error);
        else if (warnOnceAs !== undefined) this.#warnings.warn(error, warnOnceAs);
      });
      this.#started = mesh.start();
      // Linked hubs fold once every member of the group has told its frontier: at the pace
      // frontiers travel.
      this.#folding = new Folding(this.#replica, systemClock, () => protocol.horizon(mesh.ready()), Math.min(settings.antiEntropyMs, GC_PACE_MS), (horizon) => this.#relay.horizon(horizon.wall));
    } else if (settings.redis !== undefined) {
      this.#started = this.#startRedis(settings);
      this.#folding = new Folding(this.#replica, systemClock, () => this.#redis?.horizon(), GC_PACE_MS, (horizon) => this.#relay.horizon(horizon.wall));
    } else this.#started = Promise.resolve();
    const source = { id: this.id, get: (path?: Path) => this.get(path), stats: () => this.#stats(this.#sampledMetadata.read()), opsPerSecond: () => this.#counters.opsPerSecond };
    this.#dashboard = new DashboardSlot(source, settings.maxDepth, logger('dashboard', this.id));
    if (settings.dashboard !== undefined) {
      const dashboard = this.#dashboard.open(settings.dashboard);
      this.#started = Promise.all([this.#started, dashboard]).then(() => undefined);
    }
    this.#started.then(
      () => {
        this.#log('started');
        // As collective.js did: the callback runs once every listed peer has been tried once.
        if (callback !== undefined) void (this.#mesh?.firstRound() ?? this.#redis?.firstRound() ?? Promise.resolve()).then(() => callback(this));
      },
      (error: Error) => {
        this.#log('could not start: %s', error.message);
        this.emit('error', error);
      },
    );
  }

  async #startRedis(settings: HubSettings): Promise<void> {
    const redis = settings.redis!;
    const tier = await connectRedisTier(
      this.#replica,
      { ...redis, maxDepth: settings.maxDepth, maxValueBytes: settings.maxValueBytes, maxEntryBytes: settings.maxFrameBytes, leaves: settings.persist === undefined, startTimeoutMs: settings.handshakeTimeoutMs },
      logger('redis', this.id),
    );
    if (this.#closed) {
      await tier.close();
      return;
    }
    this.#redis = tier;
    if (this.#persistence !== undefined) tier.predecessors(this.#persistence.predecessors);
    tier.on('peer:up', (id, address) => this.#notify('peer:up', id, address));
    tier.on('peer:down', (id, address) => this.#notify('peer:down', id, address));
    // Own writes made before the tier existed: its stream rebuilds them from the replica.
    await tier.start();
  }

  // Calls every listener of a hub event, each on its own: one that throws stops neither the
  // others nor what the hub was doing (applying a member's batch, handling a peer's frame),
  // and its error is thrown again outside, as an uncaught exception, as from any callback.
  #notify<K extends keyof CollectiveEvents>(event: K, ...args: CollectiveEvents[K]): void {
    for (const listener of this.rawListeners(event) as ((...values: unknown[]) => void)[]) {
      try {
        listener.apply(this, args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /**
   * collective.js's write operations, for `set(key, value, operation)`; also on the default
   * export (`Collective.OPERATIONS` in the seed's code).
   */
  static readonly OPERATIONS = OPERATIONS;

  /** The same as the static `OPERATIONS` (collective.js had it on every instance). */
  get OPERATIONS(): typeof OPERATIONS {
    return OPERATIONS;
  }

  /** The whole store, deep-frozen: collective.js's `data` field, as a read-only view. */
  get data(): JsonValue {
    return this.get() ?? {};
  }

  /**
   * The address this hub listens on (with the real port when asked for port 0), or undefined
   * when it does not listen: collective.js's `local`.
   */
  get local(): Readonly<HostAddress> | undefined {
    const local = this.#settings.listen;
    if (local === undefined) return undefined;
    return Object.freeze({ host: local.host ?? 'localhost', port: this.port ?? local.port });
  }

  /** How many peer hubs this hub's stream reaches now: collective.js's `active`. */
  get active(): number {
    return this.#mesh?.linked().length ?? 0;
  }

  /**
   * One key per linked peer, its address as dialed (`host:port`), valued with its node id: a
   * read-only view of collective.js's `connections`.
   */
  get connections(): Readonly<Record<string, string>> {
    const view: Record<string, string> = {};
    for (const { address, id } of this.#mesh?.linked() ?? []) view[address] = id;
    return Object.freeze(view);
  }

  /**
   * Starts a hub and resolves with it once it listens: the promise form of the constructor.
   * It does not wait for any peer (a hub must be able to start alone); rejects if it cannot
   * listen.
   */
  static async start(options: StartOptions = {}): Promise<Collective> {
    const { listen, peers, ...settings } = options;
    const hub = new Collective(listen, peers, settings);
    try {
      await hub.listening();
    } catch (error) {
      // Nobody gets this hub to close: what it holds (timers, its persist directory) goes now.
      await hub.close();
      throw error;
    }
    return hub;
  }

  /**
   * Resolves once the hub listens (at once without `listen`); rejects if it cannot. The
   * rejection reports the failure, so the `error` event it also causes is absorbed meanwhile
   * (an `error` event with no listener would crash the process).
   */
  async listening(): Promise<void> {
    const absorb = (): void => undefined;
    this.once('error', absorb);
    try {
      await this.#started;
    } finally {
      this.off('error', absorb);
    }
  }

  /** The TCP port this hub listens on for peers (the real one when asked for port 0). */
  get port(): number | undefined {
    return this.#mesh?.port;
  }

  #applied(op: Op, restated: Segments | null | undefined): void {
    // First: the log's record of this turn is written before anything is sent (see Journal).
    this.#persistence?.record(op);
    this.#counters.opsApplied++;
    this.#relay.applied(op, restated);
    if (touchesExpiry(op) || restated !== undefined) this.#expiryTimer.arm();
    this.#protocol?.localOp(op);
    this.#redis?.localOp(op);
    if (this.#folding === undefined && this.#replica.foldDue && !this.#collectScheduled) {
      this.#collectScheduled = true;
      setImmediate(() => this.#collectSolo());
    }
    if (op.stamp.node === this.id) this.#counters.opsLocal++;
    if (this.listenerCount('change') > 0) {
      this.#notify('change', { path: formatPath(op.path), segments: op.path, op: op.kind, origin: op.stamp.node });
    }
  }

  // Expiries came due by this hub's clock: watchers and `change` listeners hear of them (each
  // once); alone, the hub has fired them for good, and its members may too.
  #expired(): void {
    if (this.#closed) return;
    const due = this.#replica.expireDue();
    if (due.length === 0) return;
    this.#counters.expiriesFired += due.length;
    // Alone, nothing earlier can come: what expired is folded away now (and in the members).
    if (this.#folding === undefined) this.#collectSolo();
    if (this.listenerCount('change') === 0) return;
    for (const entry of due) this.#notify('change', { path: formatPath(entry.path), segments: entry.path, op: 'expire', origin: this.id });
  }

  // Alone, a hub has seen every op there is, so everything up to its clock can be folded (its
  // own writes keep no records; this folds the nodes deletes leave). Linked hubs fold through
  // Folding (mesh/gc.ts), up to what every member of the group has seen.
  #collectSolo(): void {
    this.#collectScheduled = false;
    if (this.#closed) return;
    const horizon = computeHorizon([this.#replica.frontier()])!;
    const folded = this.#replica.foldedTo;
    if (folded !== undefined && !isAfter(horizon, folded)) return; // nothing new to fold
    const started = performance.now();
    this.#replica.collect(horizon);
    this.#replica.foldEvery = this.#foldPacing.took(performance.now() - started);
    this.#counters.soloFolds++;
    this.#relay.horizon(horizon.wall);
  }

  // What `{ durable: true }` waits for: every write so far fsynced. Marked handled where it is
  // made (a turn's durable writes share one promise).
  #durable(): Promise<void> {
    return this.#persistence?.durable() ?? notPersistent();
  }

  #open(): Replica {
    if (this.#closed) throw new ClosedError();
    return this.#replica;
  }

  /** The value at `path`, deep-frozen, or `undefined`; with no path, the whole tree. Sync. */
  get(path?: Path): JsonValue | undefined {
    return this.#open().get(path);
  }

  /**
   * Sets the value at `path`; the hub applies it before returning, and the promise resolves
   * then. The third argument is options (`{ ttl }`: the value expires that many ms later;
   * without it a set clears the expiry at `path`, unless `{ keepTtl: true }`), or collective.js's
   * operation (`OPERATIONS.INCREMENT` adds `value`, `OPERATIONS.DELETE` deletes).
   */
  set<T>(path: Path, value: T & JsonInput<T>, options?: (SetOptions & DurableOption) | Operation | true): Promise<void> {
    const { kind, options: setOptions } = setArguments(options);
    if (kind === 'incr') return this.incr(path, value as number);
    if (kind === 'delete') return this.delete(path);
    const durable = wantsDurable(setOptions);
    this.#open().set(path, value, setOptions);
    return durable ? this.#durable() : Promise.resolve();
  }

  /** Deletes the value at `path` (and its expiry). */
  delete(path: Path): Promise<void> {
    this.#open().delete(path);
    return Promise.resolve();
  }

  /**
   * Adds `by` (default 1) to the number at `path`; a missing or non-number value counts as 0.
   * `{ ttl }` arms an expiry only where none is armed (a fixed window).
   */
  incr(path: Path, by: number = 1, options?: ExpiryOptions & DurableOption): Promise<void> {
    const durable = wantsDurable(options);
    this.#open().incr(path, by, options);
    return durable ? this.#durable() : Promise.resolve();
  }

  /** Subtracts `by` (default 1) from the number at `path`; options as for `incr`. */
  decr(path: Path, by: number = 1, options?: ExpiryOptions & DurableOption): Promise<void> {
    return this.incr(path, -checkAmount(by, this.#open().path(path)), options);
  }

  /**
   * Appends one element to the list at `path`; a missing or non-list value starts a list.
   * Options as for `incr`.
   */
  append<T>(path: Path, value: T & JsonInput<T>, options?: ExpiryOptions & DurableOption): Promise<void> {
    const durable = wantsDurable(options);
    this.#open().append(path, value, options);
    return durable ? this.#durable() : Promise.resolve();
  }

  /**
   * Sets `next` if the value at `path` deep-equals `expected` (`null` also matches a missing
   * value); resolves with whether it did. Options as for `set` (a lock with a lease:
   * `cas('lock', null, 'me', { ttl: 30_000 })`).
   */
  cas<T>(path: Path, expected: unknown, next: T & JsonInput<T>, options?: SetOptions & DurableOption): Promise<boolean> {
    const durable = wantsDurable(options);
    const done = this.#open().cas(path, expected, next, options) !== undefined;
    return durable && done ? handled(this.#durable().then(() => done)) : Promise.resolve(done);
  }

  /**
   * (Re)arms the expiry of what is at `path`: it expires `ttl` ms from now; `null` makes it
   * permanent again. Resolves with whether something was there (nothing there, nothing
   * happens).
   */
  expire(path: Path, ttl: number | null): Promise<boolean> {
    return Promise.resolve(this.#open().expire(path, ttl) !== undefined);
  }

  /** Milliseconds before the value at `path` expires; undefined when none is armed or nothing is there. Sync. */
  ttl(path: Path): number | undefined {
    return this.#open().ttl(path);
  }

  /** Calls `listener(value, change)` whenever the value at `path` changes; returns the unsubscribe. */
  watch(path: Path, listener: WatchListener): () => void {
    return this.#open().watch(path, listener);
  }

  /**
   * Resolves once every write made so far is applied (at once, on a hub); with
   * `{ durable: true }`, once every one is on disk (a hub with `persist`).
   */
  flush(options?: DurableOption): Promise<void> {
    if (this.#closed) return handled(Promise.reject(new ClosedError()));
    return wantsDurable(options) ? this.#durable() : Promise.resolve();
  }

  /**
   * Serves a member (a cluster worker or a thread) over `link`. Used by `collective.cluster()`
   * and `collective.pool()`; call it yourself only to attach a transport of your own.
   */
  attachMember(link: Link): void {
    this.#relay.attach(link);
  }

  /**
   * A tinypool whose threads are members of this hub (see `collective.pool()`): tinypool's
   * options, a real Tinypool back.
   */
  pool(options: PoolOptions = {}): Tinypool {
    this.#open();
    return createPool((link) => this.attachMember(link), options);
  }

  /** Makes a plain `worker_threads` Worker a member of this hub (see `collective.attachThread()`). */
  attachThread(worker: Worker): void {
    this.#open();
    attachWorker((link) => this.attachMember(link), worker);
  }

  /** Counters for monitoring. */
  stats(): CollectiveStats {
    return this.#stats(this.#replica.metadata());
  }

  #stats(metadata: CollectiveStats['metadata']): CollectiveStats {
    return hubStats(
      {
        id: this.id,
        replica: this.#replica,
        relay: this.#relay,
        counters: this.#counters,
        dashboard: this.#dashboard,
        protocol: this.#protocol,
        mesh: this.#mesh,
        redis: this.#redis,
        folding: this.#folding,
        persistence: this.#persistence,
      },
      metadata,
    );
  }

  /**
   * Serves this hub's dashboard (see the `dashboard` option): resolves with its address once it
   * listens. One per hub; it closes with the hub.
   */
  async serveDashboard(options: DashboardOptions = {}): Promise<{ url: string }> {
    if (this.#closed) throw new ClosedError();
    const dashboard = await this.#dashboard.open(dashboardSettings(options));
    return { url: dashboard.url };
  }

  /** The address of this hub's dashboard once it serves one (`http://host:port/`). */
  get dashboardUrl(): string | undefined {
    return this.#dashboard.url;
  }

  /** Stops the hub: its links to members and peers, and its listening socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#folding?.stop();
    this.#expiryTimer.stop();
    this.#counters.stop();
    this.#relay.close();
    await this.#mesh?.close();
    await this.#redis?.close();
    await this.#persistence?.close();
    await this.#dashboard.close();
    this.#log('closed');
    this.#notify('close');
  }
}
