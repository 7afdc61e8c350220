/**
 * A deterministic group of 3-5 hubs running the shipping Redis tier (lib/mesh/redis/: own
 * streams, the reader, announcements, membership, GC, snapshots, trims) over an in-memory Redis
 * in virtual time (sim-redis.ts), with seeded faults: Redis killed and restarted with the last
 * second lost (AOF everysec), hubs cut off Redis, hubs crashed and restarted without their state
 * under their name, clocks skewed, a small memory for own ops (so that entries are rebuilt from
 * the replica). `SIM_SEED=<n>` replays one seed.
 *
 * The tier is async (it awaits its Redis commands), so the driver runs one virtual event at a
 * time and lets the promise continuations it caused run before the next.
 */
import { isDeepStrictEqual } from 'node:util';
import type { NodeId } from '../../lib/core/clock.js';
import type { Op } from '../../lib/core/op.js';
import { Replica } from '../../lib/core/replica.js';
import { Folding } from '../../lib/mesh/gc.js';
import { RedisTier } from '../../lib/mesh/redis/tier.js';
import { decodeGroupSnapshot } from '../../lib/wire/redis.js';
import { tuneFoldsFor } from './fold-tuning.js';
import { oracleState } from './oracle.js';
import { Random } from './random.js';
import { seqOf, SimRedisServer, type SimRedisConnection } from './sim-redis.js';
import { VirtualTime } from './virtual-time.js';

const KEYS = ['a', 'b', 'c'];
const PATHS: string[][] = KEYS.flatMap((a) => [[a], ...KEYS.map((b) => [a, b])]);
const opKey = (op: Op): string => `${op.stamp.node}#${op.seq}`;
// The key prefix of every hub's op stream in the simulated group.
const OPS_PREFIX = 'collective:sim:ops:';
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What a run exercised. */
export interface RedisSimulationResult {
  seed: number;
  writes: number;
  hubCrashes: number;
  redisRestarts: number;
  entriesLost: number;
  cuts: number;
  gaps: number;
  bootstraps: number;
  snapshots: number;
  rebuilt: number;
  folds: number;
  settleMs: number;
}

interface SimHub {
  readonly slot: number;
  readonly replica: Replica;
  readonly tier: RedisTier;
  readonly folding: Folding;
  readonly store: SimRedisConnection;
  readonly clock: ReturnType<VirtualTime['clock']>;
  /** Every op it applied or took with a snapshot: its oracle input. */
  readonly log: Map<string, Op>;
}

export class RedisSimulation {
  readonly seed: number;
  readonly rng: Random;
  readonly time = new VirtualTime(1_000_000);
  readonly server: SimRedisServer;
  readonly hubs = new Map<number, SimHub>();
  readonly stats: RedisSimulationResult;
  // The oracle input of each snapshot stored, by its text.
  readonly #snapshotLogs = new Map<string, Map<string, Op>>();
  #generation = 0;
  readonly #maxQueuedOps: number;
  readonly #opsPerEntry: number | undefined;

  constructor(seed: number) {
    this.seed = seed;
    tuneFoldsFor(seed);
    this.rng = new Random(seed);
    this.server = new SimRedisServer(this.time, this.rng);
    this.stats = { seed, writes: 0, hubCrashes: 0, redisRestarts: 0, entriesLost: 0, cuts: 0, gaps: 0, bootstraps: 0, snapshots: 0, rebuilt: 0, folds: 0, settleMs: 0 };
    this.#maxQueuedOps = this.rng.chance(0.5) ? this.rng.int(5, 50) : 1_000_000;
    // Half the runs split what a hub appends into entries of a few ops (kept and rebuilt alike).
    this.#opsPerEntry = this.rng.chance(0.5) ? this.rng.int(1, 8) : undefined;
    const slots = this.rng.int(3, 5);
    for (let slot = 0; slot < slots; slot++) this.#start(slot);
  }

  #start(slot: number): SimHub {
    const skew = this.rng.int(-200, 200);
    const clock = this.time.clock(() => skew);
    const id = `r${slot}g${this.#generation++}x${this.seed}` as NodeId;
    const log = new Map<string, Op>();
    let tier!: RedisTier;
    const replica = new Replica({
      id,
      now: () => clock.now(),
      expiryClock: () => clock.now(),
      onApplied: (op) => {
        log.set(opKey(op), op);
        tier.localOp(op);
      },
    });
    const store = this.server.connect();
    // The oracle input travels with each snapshot: the hub's as it took the snapshot (as its
    // upload began, in the same turn), stored with the snapshot's text, taken by whoever reads it.
    const upload = store.uploadPart.bind(store);
    let takenAtUpload = new Map(log);
    store.uploadPart = (key, text, first, ttlMs) => {
      if (first) takenAtUpload = new Map(log);
      return upload(key, text, first, ttlMs);
    };
    const put = store.putSnapshot.bind(store);
    store.putSnapshot = async (snapshotKey, vectorKey, uploadKey, bytes, vector, force) => {
      const taken = takenAtUpload;
      // Whole by now (each part was awaited): what the snapshot key holds if this is stored.
      const text = this.server.state.strings.get(uploadKey);
      const stored = await put(snapshotKey, vectorKey, uploadKey, bytes, vector, force);
      if (stored === 'stored' && text !== undefined) this.#snapshotLogs.set(text, taken);
      return stored;
    };
    const get = store.get.bind(store);
    store.get = async (key, most) => {
      const value = await get(key, most);
      if (typeof value === 'string') for (const [k, op] of this.#snapshotLogs.get(value) ?? []) log.set(k, op);
      return value;
    };
    tier = new RedisTier(
      replica,
      store,
      { group: 'sim', name: `slot${slot}`, announceMs: 100, snapshotMs: 1000, maxQueuedOps: this.#maxQueuedOps, ...(this.#opsPerEntry === undefined ? {} : { opsPerEntry: this.#opsPerEntry }), leaves: true, startTimeoutMs: 500, limits: { maxDepth: 32, maxValueBytes: 1 << 20, maxEntryBytes: 1 << 24, maxSnapshotBytes: 1 << 28 } },
      clock,
      process.env.REDIS_SIM_LOG === undefined ? () => undefined : (format: string, ...args: unknown[]) => console.log(`${this.time.now} [${id}] ${format}`, ...args),
    );
    const folding = new Folding(replica, clock, () => tier.horizon());
    const hub: SimHub = { slot, replica, tier, folding, store, clock, log };
    this.hubs.set(slot, hub);
    void tier.start().catch(() => undefined);
    return hub;
  }

  #crash(hub: SimHub): void {
    this.stats.hubCrashes++;
    hub.clock.stop();
    hub.folding.stop();
    void hub.store.close();
    this.hubs.delete(hub.slot);
    this.#collect(hub);
    this.time.schedule(this.time.now + this.rng.int(100, 2000), () => this.#start(hub.slot));
  }

  #collect(hub: SimHub): void {
    const stats = hub.tier.stats();
    this.stats.gaps += stats.gaps;
    this.stats.bootstraps += stats.bootstraps;
    this.stats.snapshots += stats.snapshotsWritten;
    this.stats.rebuilt += stats.entriesRebuilt;
    this.stats.folds += hub.folding.runs;
  }

  #write(hub: SimHub): void {
    const path = this.rng.pick(PATHS);
    const kind = this.rng.int(0, 9);
    if (kind < 4) hub.replica.incr(path, this.rng.int(1, 5));
    else if (kind < 7) hub.replica.set(path, this.rng.int(0, 99));
    else if (kind < 9) hub.replica.append(path, `${hub.replica.id}:${this.stats.writes}`);
    else hub.replica.delete(path);
    this.stats.writes++;
  }

  // Runs virtual time to `until`, one event at a time, with the continuations each caused.
  async #advanceTo(until: number): Promise<void> {
    for (let next = this.time.nextAt; next !== undefined && next <= until; next = this.time.nextAt) {
      this.time.advance(next);
      await turn();
    }
    this.time.advance(until);
    await turn();
  }

  /** Faults and writes for `faultMs` of virtual time, then calm until the group agrees. */
  async run(faultMs: number): Promise<RedisSimulationResult> {
    const end = this.time.now + faultMs;
    while (this.time.now < end) {
      const hubs = [...this.hubs.values()];
      for (let i = this.rng.int(0, 3); i > 0 && hubs.length > 0; i--) this.#write(this.rng.pick(hubs));
      const dice = this.rng.next();
      if (dice < 0.004 && hubs.length > 1) this.#crash(this.rng.pick(hubs));
      else if (dice < 0.007) {
        this.server.crash(this.rng.int(50, 1500));
        this.stats.redisRestarts++;
      } else if (dice < 0.015 && hubs.length > 0) {
        this.rng.pick(hubs).store.cutFor(this.rng.int(50, 2000));
        this.stats.cuts++;
      }
      await this.#advanceTo(this.time.now + this.rng.int(1, 20));
    }
    // Calm: every crashed hub back, until every live hub holds the same data and vector.
    const calm = this.time.now;
    const deadline = calm + 60_000;
    while (this.time.now < deadline) {
      await this.#advanceTo(this.time.now + 100);
      if (this.hubs.size > 0 && this.#agreed()) break;
    }
    this.stats.settleMs = this.time.now - calm;
    this.stats.entriesLost = this.server.entriesLost;
    return this.stats;
  }

  #agreed(): boolean {
    const hubs = [...this.hubs.values()];
    if (hubs.some((hub) => !hub.store.ready)) return false;
    // Nothing left in Redis that a hub has not read: an entry of a hub that crashed may wait
    // there while Redis restarts, and every hub agreeing without it is not the end (seed 4071).
    for (const [key, stream] of this.server.state.streams) {
      const last = stream.entries.at(-1);
      if (last !== undefined && seqOf(last.id) > this.#leastApplied(key.slice(OPS_PREFIX.length))) return false;
    }
    // Key order aside: each replica keeps an object's keys in the order it learned them.
    const [first] = hubs;
    return hubs.every((hub) => isDeepStrictEqual(hub.replica.vector(), first!.replica.vector()) && isDeepStrictEqual(hub.replica.get(), first!.replica.get()));
  }

  /** Runs on, quiet, until every hub folded everything (or `ms` passed). */
  async foldAll(ms = 10_000): Promise<void> {
    const deadline = this.time.now + ms;
    while (this.time.now < deadline) {
      await this.#advanceTo(this.time.now + 100);
      if ([...this.hubs.values()].every((hub) => hub.replica.metadata().ops === 0 && hub.replica.metadata().nodes === 1)) return;
    }
  }

  /**
   * Runs on, quiet, until no stream holds an entry every live hub has read and the stored
   * snapshot covers (or `ms` passed); returns how many such entries are left: the trims' debt.
   */
  trimAll(ms = 10_000): Promise<number> {
    return this.#quietUntilNone(() => this.#untrimmed(), ms);
  }

  /**
   * Runs on, quiet, until the stored snapshot carries no op record (the leader stores it again
   * once folded), or `ms` passed; returns how many it carries.
   */
  foldStored(ms = 10_000): Promise<number> {
    return this.#quietUntilNone(() => this.#storedRecords(), ms);
  }

  // Runs on, quiet, until `count` is 0 or `ms` passed; returns the last count.
  async #quietUntilNone(count: () => number, ms: number): Promise<number> {
    const deadline = this.time.now + ms;
    let left = count();
    while (left > 0 && this.time.now < deadline) {
      await this.#advanceTo(this.time.now + 100);
      left = count();
    }
    return left;
  }

  #storedRecords(): number {
    const text = this.server.state.strings.get('collective:sim:snapshot');
    return text === undefined ? 0 : Replica.fromSnapshot(decodeGroupSnapshot(text).snapshot).metadata().ops;
  }

  #untrimmed(): number {
    const state = this.server.state;
    const stored = state.strings.get('collective:sim:snapshot:vector');
    const covered = stored === undefined ? {} : (JSON.parse(stored) as Record<string, number>);
    let left = 0;
    for (const [key, stream] of state.streams) {
      const origin = key.slice(OPS_PREFIX.length);
      const read = Math.min(covered[origin] ?? 0, this.#leastApplied(origin));
      left += stream.entries.filter((entry) => seqOf(entry.id) <= read).length;
    }
    return left;
  }

  // The last seq of `origin` that every live hub has applied.
  #leastApplied(origin: string): number {
    return Math.min(...[...this.hubs.values()].map((hub) => hub.replica.vector()[origin]?.seq ?? 0));
  }

  /** The oracle's state of every op some live hub took. */
  oracle(): unknown {
    const all = new Map<string, Op>();
    for (const hub of this.hubs.values()) for (const [key, op] of hub.log) all.set(key, op);
    return oracleState(all.values());
  }

  replicas(): Replica[] {
    return [...this.hubs.values()].map((hub) => hub.replica);
  }

  /** Stops every hub (their timers). */
  async stop(): Promise<void> {
    for (const hub of this.hubs.values()) {
      this.#collect(hub);
      hub.clock.stop();
      await hub.store.close();
    }
  }
}
