import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { Tinypool } from 'tinypool';
import { ClosedError, describe, inputTypeError } from '../errors.js';
import { logger, type Logger } from '../log.js';
import { isAfter, type NodeId } from '../core/clock.js';
import type { Op } from '../core/op.js';
import { formatPath, type Path } from '../core/path.js';
import { Replica } from '../core/replica.js';
import { computeHorizon } from '../core/horizon.js';
import type { Link } from '../links/link.js';
import { MemberRelay } from './relay.js';
import { PeerMesh } from './peering.js';
import { attachWorker, createPool, type PoolOptions } from '../threads/pool.js';
import { GC_PACE_MS } from './membership.js';
import { checkNetworkOptions, meshOptions } from './network-options.js';
import type { JsonInput, JsonValue } from '../core/value.js';
import { OPERATIONS, seedOperation, type Operation } from '../operations.js';
import { PeerWarnings } from './warnings.js';
import type { WatchListener } from '../core/watchers.js';
import type { CollectiveEvents, CollectiveOptions, CollectiveStats, HostAddress, StartOptions } from '../types.js';

type Callback = (collective: Collective) => void;

// A hub alone has seen every op there is, so it can fold everything it holds. It does so every
// 10k ops: a fold copies each parent object it folds into, and spacing folds by at least the
// width of such a parent keeps that cost amortized O(1) per op.
const COLLECT_EVERY = 10_000;

// A promise that nobody awaits must never become an unhandled rejection: mark it handled
// here, while whoever awaits it still sees the rejection.
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function isAddress(value: unknown): value is HostAddress {
  return typeof value === 'object' && value !== null && typeof (value as HostAddress).port === 'number';
}

function sameAddress(a: HostAddress, b: HostAddress): boolean {
  return (a.host ?? 'localhost') === (b.host ?? 'localhost') && a.port === b.port;
}

/**
 * A hub: the replica of one machine, with the store API. Constructed the way the original
 * collective.js was, `new Collective(local, allHosts, callback)`, or with `Collective.start()`.
 * With `local` it listens for other hubs, with `allHosts` it dials them (core of the network
 * tier: roles/peering.ts); without either it is alone, and keeps no op records at all.
 */
export class Collective extends EventEmitter<CollectiveEvents> {
  /** This hub's node id. */
  readonly id: NodeId;
  readonly #replica: Replica;
  readonly #relay: MemberRelay;
  readonly #mesh: PeerMesh | undefined;
  readonly #started: Promise<void>;
  readonly #log: Logger;
  #closed = false;
  #collectScheduled = false;
  #collectTimer: NodeJS.Timeout | undefined;
  #sinceCollect = 0;
  #opsApplied = 0;
  #gcRuns = 0;
  // ops/s over the last second, sampled by a timer.
  #rateTimer: NodeJS.Timeout;
  #sampledOps = 0;
  #opsPerSecond = 0;
  #gcWaits = 0;
  #opsLocal = 0;
  readonly #warnings = new PeerWarnings();
  readonly #local: HostAddress | undefined;

  constructor(local?: HostAddress, allHosts?: readonly HostAddress[], options?: CollectiveOptions | Callback, callback?: Callback) {
    super();
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    if (local !== undefined && !isAddress(local)) {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected the local address to be { host, port }, got ${describe(local)}`);
    }
    if (allHosts !== undefined && !Array.isArray(allHosts)) {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected allHosts to be an array of { host, port }, got ${describe(allHosts)}`);
    }
    const peers = (allHosts ?? []).filter((host) => local === undefined || !sameAddress(host, local));
    const settings = options ?? {};
    this.#local = local;
    checkNetworkOptions(local, peers, settings);
    const replicaOptions: ConstructorParameters<typeof Replica>[0] = {
      onApplied: (op) => this.#applied(op),
    };
    if (settings.id !== undefined) replicaOptions.id = settings.id as NodeId;
    if (settings.maxDepth !== undefined) replicaOptions.maxDepth = settings.maxDepth;
    if (settings.maxValueBytes !== undefined) replicaOptions.maxValueBytes = settings.maxValueBytes;
    this.#replica = new Replica(replicaOptions);
    this.id = this.#replica.id;
    this.#log = logger('hub', this.id);
    this.#relay = new MemberRelay(this.#replica, logger('relay', this.id));
    this.#relay.on('member:up', (member) => this.emit('member:up', member));
    this.#relay.on('member:down', (member) => this.emit('member:down', member));
    this.#rateTimer = setInterval(() => {
      this.#opsPerSecond = this.#opsApplied - this.#sampledOps;
      this.#sampledOps = this.#opsApplied;
    }, 1000);
    this.#rateTimer.unref();
    const networked = local !== undefined || peers.length > 0;
    // Alone, the hub has seen every op there is and keeps no op records (see Replica.setSolo).
    this.#replica.setSolo(!networked);
    if (networked) {
      const mesh = new PeerMesh(this.#replica, logger('mesh', this.id), meshOptions(local, peers, settings));
      this.#mesh = mesh;
      mesh.on('peer:up', (id, address) => this.emit('peer:up', id, address));
      mesh.on('peer:down', (id, address) => this.emit('peer:down', id, address));
      mesh.on('peer:error', (error, warnOnceAs) => {
        if (this.listenerCount('peer:error') > 0) this.emit('peer:error', error);
        else if (warnOnceAs !== undefined) this.#warnings.warn(error, warnOnceAs);
      });
      this.#started = mesh.start();
      // Linked hubs fold once every member of the group has told its frontier: collect at the
      // pace frontiers travel.
      this.#collectTimer = setInterval(() => this.#collect(), Math.min(settings.antiEntropyMs ?? 2000, GC_PACE_MS));
      this.#collectTimer.unref();
    } else this.#started = Promise.resolve();
    this.#started.then(
      () => {
        this.#log('started');
        // As collective.js did: the callback runs once every listed peer has been tried once.
        if (callback !== undefined) void (this.#mesh?.firstRound() ?? Promise.resolve()).then(() => callback(this));
      },
      (error: Error) => {
        this.#log('could not start: %s', error.message);
        this.emit('error', error);
      },
    );
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
    if (this.#local === undefined) return undefined;
    return Object.freeze({ host: this.#local.host ?? 'localhost', port: this.port ?? this.#local.port });
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
    await hub.listening();
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

  #applied(op: Op): void {
    this.#opsApplied++;
    this.#relay.applied(op);
    this.#mesh?.localOp(op);
    if (this.#mesh === undefined && ++this.#sinceCollect >= COLLECT_EVERY && !this.#collectScheduled) {
      this.#collectScheduled = true;
      setImmediate(() => this.#collect());
    }
    if (op.stamp.node === this.id) this.#opsLocal++;
    if (this.listenerCount('change') > 0) {
      this.emit('change', { path: formatPath(op.path), segments: op.path, op: op.kind, origin: op.stamp.node });
    }
  }

  // Alone, a hub has seen every op there is, so everything up to its clock can be folded.
  // Linked, it folds up to what every member of the group has seen (PeerMesh.horizon).
  #collect(): void {
    this.#collectScheduled = false;
    this.#sinceCollect = 0;
    if (this.#closed) return;
    const horizon = this.#mesh === undefined ? computeHorizon([this.#replica.frontier()]) : this.#mesh.horizon();
    if (horizon === undefined) {
      this.#gcWaits++;
      return;
    }
    const folded = this.#replica.foldedTo;
    if (folded !== undefined && !isAfter(horizon, folded)) return; // nothing new to fold
    this.#replica.collect(horizon);
    this.#gcRuns++;
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
   * then. `operation` is collective.js's third argument (`OPERATIONS.INCREMENT` adds `value`,
   * `OPERATIONS.DELETE` deletes).
   */
  set<T>(path: Path, value: T & JsonInput<T>, operation?: Operation | true): Promise<void> {
    const kind = seedOperation(operation);
    if (kind === 'incr') return this.incr(path, value as number);
    if (kind === 'delete') return this.delete(path);
    this.#open().set(path, value);
    return Promise.resolve();
  }

  /** Deletes the value at `path`. */
  delete(path: Path): Promise<void> {
    this.#open().delete(path);
    return Promise.resolve();
  }

  /** Adds `by` (default 1) to the number at `path`; a missing or non-number value counts as 0. */
  incr(path: Path, by: number = 1): Promise<void> {
    this.#open().incr(path, by);
    return Promise.resolve();
  }

  /** Subtracts `by` (default 1) from the number at `path`. */
  decr(path: Path, by: number = 1): Promise<void> {
    if (typeof by !== 'number') {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_VALUE', `Expected the amount to be a finite number, got ${describe(by)}`);
    }
    this.#open().incr(path, -by);
    return Promise.resolve();
  }

  /** Appends one element to the list at `path`; a missing or non-list value starts a list. */
  append<T>(path: Path, value: T & JsonInput<T>): Promise<void> {
    this.#open().append(path, value);
    return Promise.resolve();
  }

  /**
   * Sets `next` if the value at `path` deep-equals `expected` (`null` also matches a missing
   * value); resolves with whether it did.
   */
  cas<T>(path: Path, expected: unknown, next: T & JsonInput<T>): Promise<boolean> {
    return Promise.resolve(this.#open().cas(path, expected, next) !== undefined);
  }

  /** Calls `listener(value, change)` whenever the value at `path` changes; returns the unsubscribe. */
  watch(path: Path, listener: WatchListener): () => void {
    return this.#open().watch(path, listener);
  }

  /** Resolves once every write made so far is applied (at once, on a hub). */
  flush(): Promise<void> {
    return this.#closed ? handled(Promise.reject(new ClosedError())) : Promise.resolve();
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
    const relay = this.#relay.stats();
    const mesh = this.#mesh?.stats();
    return {
      id: this.id,
      peers: mesh?.peers ?? [],
      rejectedFrames: mesh?.rejectedFrames ?? 0,
      authFailures: mesh?.authFailures ?? 0,
      handshakeTimeouts: mesh?.handshakeTimeouts ?? 0,
      rejections: mesh?.rejections ?? {},
      opsApplied: this.#opsApplied,
      opsPerSecond: this.#opsPerSecond,
      queuedBytes: relay.queuedBytes + (mesh?.peers.reduce((sum, peer) => sum + peer.queuedBytes, 0) ?? 0),
      opsLocal: this.#opsLocal,
      members: relay.members,
      rejectedMessages: relay.rejectedMessages,
      rejectedIntents: relay.rejectedIntents,
      watchers: this.#replica.watcherCount(),
      metadata: this.#replica.metadata(),
      gc: { runs: this.#gcRuns, waits: this.#gcWaits, members: mesh?.members ?? 0 },
    };
  }

  /** Stops the hub: its links to members and peers, and its listening socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#collectTimer);
    clearInterval(this.#rateTimer);
    this.#relay.close();
    await this.#mesh?.close();
    this.#log('closed');
    this.emit('close');
  }
}
