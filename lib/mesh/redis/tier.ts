/**
 * Hubs linked through Redis Streams instead of the TCP mesh (the `redis` option).
 *
 * A log fits this better than a link: each hub appends its own ops to a stream of its own
 * (mesh/redis/own-stream.ts) and reads every other hub's from where its version vector stands
 * (mesh/redis/reader.ts), so a write costs one append however many hubs there are, and a hub
 * that was away reads on from its position instead of asking each peer for a delta. So the
 * pairwise parts of the peer protocol (handshakes, vector exchanges, deltas) have no use here;
 * what carries over is the rest: the same ops, stamps, runs and version vectors, and the same
 * group membership and GC horizon (mesh/membership.ts), fed by announcements in a hash instead
 * of frontier frames. A snapshot in Redis bootstraps newcomers, and streams are trimmed only
 * below what it covers and every member has read (wire/redis.ts has the keys).
 */
import { EventEmitter } from 'node:events';
import type { NodeId, Stamp } from '../../core/clock.js';
import type { Op } from '../../core/op.js';
import { Replica } from '../../core/replica.js';
import { CollectiveError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { newIncarnation } from '../../wire/auth.js';
import { MAX_GROUP_IDS, type GroupMessage } from '../../wire/peer.js';
import { encodeAnnouncement, entryId, groupKeys, type Announcement, type GroupKeys } from '../../wire/redis.js';
import type { MeshClock } from '../clock.js';
import { groupHorizon, Membership } from '../membership.js';
import { GroupSnapshot } from './group-snapshot.js';
import { HeardHubs, type RedisHubStats } from './heard-hubs.js';
import type { RedisStats, RedisTierEvents, RedisTierSettings } from './types.js';
import { NameClaim } from './name-claim.js';
import { OwnStream } from './own-stream.js';
import { StreamReader } from './reader.js';
import type { GroupStore } from './store.js';

export type { RedisHubStats, RedisStats, RedisTierEvents, RedisTierSettings } from './types.js';

/** The Redis tier of one hub. */
export class RedisTier extends EventEmitter<RedisTierEvents> {
  readonly #replica: Replica;
  readonly #store: GroupStore;
  readonly #settings: RedisTierSettings;
  readonly #clock: MeshClock;
  readonly #log: Logger;
  readonly #keys: GroupKeys;
  readonly #membership: Membership;
  readonly #own: OwnStream;
  readonly #reader: StreamReader;
  readonly #snapshot: GroupSnapshot;
  readonly #incarnation = newIncarnation();
  readonly #startedAt: number;
  readonly #hubs: HeardHubs;
  #stopTimer: (() => void) | undefined;
  #round: Promise<void> | undefined;
  #bootstrapped = false;
  #lastSnapshotAt = 0;
  #gapSince: number | undefined;
  // When the last round with Redis completed, and since when rounds have gone on unbroken.
  #lastRoundAt = 0;
  #inContactSince: number | undefined;
  readonly #nameClaim: NameClaim | undefined;
  #closed = false;
  #fatal: CollectiveError | undefined;
  readonly #firstRound: Promise<void>;
  #firstRoundDone!: () => void;
  #refusedEntries = 0;
  #gaps = 0;
  #errors = 0;

  constructor(replica: Replica, store: GroupStore, settings: RedisTierSettings, clock: MeshClock, log: Logger) {
    super();
    this.#replica = replica;
    this.#store = store;
    this.#settings = settings;
    this.#clock = clock;
    this.#log = log;
    this.#keys = groupKeys(settings.group);
    this.#membership = new Membership(replica.id);
    this.#startedAt = clock.now();
    this.#hubs = new HeardHubs(replica.id, this.#maxAgeMs, settings.limits.maxEntryBytes, (id, change) => this.emit(change === 'up' ? 'peer:up' : 'peer:down', id, 'redis'), log);
    this.#nameClaim = settings.name === undefined ? undefined : new NameClaim(settings.name, settings.group, this.#maxAgeMs);
    this.#own = new OwnStream(replica, store, this.#keys.stream(replica.id), settings, clock, log);
    this.#reader = new StreamReader(replica, store, this.#keys, { blockMs: Math.max(settings.announceMs, 250), limits: settings.limits }, clock, {
      gap: (origin, from) => {
        this.#gaps++;
        this.#log('the stream of %s starts at %d, past this hub at %d: waiting for a snapshot that covers it', origin, from, replica.seqOf(origin));
        this.#gapSince ??= clock.now();
      },
      refused: (origin, id, reason) => {
        this.#refusedEntries++;
        this.#log('refused entry %s of the stream of %s: %s', id, origin, reason);
      },
    }, log);
    this.#snapshot = new GroupSnapshot(
      replica,
      store,
      this.#keys,
      settings.limits,
      {
        group: () => this.#group(),
        heardGroup: (group) => this.#membership.heardGroup(group),
        foldedAt: (folded, clock) => this.#restampBelow(folded, clock, 'the group snapshot'),
        adopted: () => this.#reader.rewind(),
      },
      log,
    );
    this.#firstRound = new Promise((resolve) => (this.#firstRoundDone = resolve));
    store.onReady(() => {
      this.#inContactSince = undefined;
      this.#own.reconnected();
      void this.#kick();
    });
  }

  /** The ids this hub's persisted state was kept under before its current one: retired. */
  predecessors(ids: readonly NodeId[]): void {
    this.#membership.predecessors(ids);
  }

  /**
   * Starts announcing and reading, and waits (up to `startTimeoutMs`) for a first round with
   * Redis: it checks that no other live hub runs under this hub's name (rejecting with
   * ERR_COLLECTIVE_REDIS_NAME_IN_USE) and adopts the group's snapshot. When Redis does not
   * answer by then, the hub serves its machine and catches up later.
   */
  async start(): Promise<void> {
    this.#stopTimer = this.#clock.every(this.#settings.announceMs, () => this.#kick());
    this.#reader.start();
    let cancel: (() => void) | undefined;
    await Promise.race([this.#firstRound, new Promise<void>((resolve) => (cancel = this.#clock.after(this.#settings.startTimeoutMs, resolve)))]);
    cancel?.();
    if (this.#fatal !== undefined) throw this.#fatal;
  }

  /** Resolves once a first round with Redis is done (the seed's constructor callback waits for it). */
  firstRound(): Promise<void> {
    return this.#firstRound;
  }

  // One round at a time: announcements, snapshot, trims.
  #kick(): Promise<void> {
    // Redis away, or a round stalled (a link that drops bytes without an error): this hub hears
    // nobody now, and says so.
    if (this.#clock.now() - this.#lastRoundAt > this.#maxAgeMs) {
      this.#hubs.allDown();
      this.#inContactSince = undefined;
    }
    if (this.#closed || this.#fatal !== undefined || !this.#store.ready) return Promise.resolve();
    this.#round ??= this.#roundOnce().finally(() => (this.#round = undefined));
    return this.#round;
  }

  async #roundOnce(): Promise<void> {
    try {
      const announcements = this.#hubs.decode(await this.#store.announcements(this.#keys.hubs, MAX_GROUP_IDS));
      const nameFree = this.#bootstrapped || this.#nameFree(announcements);
      // Heard and announced from the first round on, even while the name is being checked: the
      // group then counts this hub for GC, and folds nothing it may still send.
      this.#heardAll(announcements);
      await this.#announce(false);
      if (!this.#bootstrapped) {
        if (!nameFree) return;
        await this.#snapshot.adopt();
        this.#bootstrapped = true;
      }
      if (this.#own.appended === undefined) await this.#own.resume();
      else await this.#own.flush();
      // What the group holds of a stream: its origin's word, or another hub's that read further
      // (the origin may be gone, and Redis may have lost what it said last).
      await this.#reader.probeStuck((origin) => this.#hubs.mostHeldOf(origin));
      if (this.#reader.paused.size > 0) await this.#fillGaps();
      await this.#snapshotAndTrim(this.#leader());
      this.#lastRoundAt = this.#clock.now();
      this.#inContactSince ??= this.#lastRoundAt;
      this.#firstRoundDone();
    } catch (error) {
      if (error instanceof CollectiveError && error.code === 'ERR_COLLECTIVE_REDIS_NAME_IN_USE') {
        // This hub must not take part: it stops here, and start() says why.
        this.#fatal = error;
        this.#stopTimer?.();
        this.#reader.close();
        this.#log('%s', error.message);
        this.#firstRoundDone();
        // It announced itself while it checked: it leaves, so that GC does not wait for it.
        await this.#announce(true).catch(() => undefined);
        return;
      }
      this.#errors++;
      this.#inContactSince = undefined;
      this.#log('a round with Redis failed: %s', (error as Error).message);
    }
  }

  // Whether this hub may take its name now (see NameClaim); once it may, it lives there.
  #nameFree(announcements: readonly Announcement[]): boolean {
    if (this.#nameClaim === undefined) return true;
    if (!this.#nameClaim.free(announcements, this.#clock.now())) return false;
    this.#membership.livesAt(this.#replica.id, this.#settings.name!);
    return true;
  }

  #heardAll(announcements: readonly Announcement[]): void {
    const now = this.#clock.now();
    for (const announcement of announcements) this.#heardOne(announcement, now);
    this.#own.seenByAll(this.#readByAll(this.#replica.id));
    this.#hubs.sweep(now);
  }

  #heardOne(announcement: Announcement, now: number): void {
    const { id } = announcement;
    this.#reader.add(id);
    if (!this.#hubs.record(announcement, now)) return;
    // Every stream some hub holds ops of is read here too: its origin may be gone, its
    // announcements lost with Redis, and its ops left only in its stream or a snapshot.
    for (const origin of Object.keys(announcement.message.vector) as NodeId[]) this.#reader.add(origin);
    if (announcement.left === true) {
      // Gone for good: its stream is read to the end, and GC counts it no more.
      this.#membership.replaced(id, this.#replica.id);
      return;
    }
    if (announcement.name !== undefined && announcement.name === this.#settings.name && announcement.at < this.#startedAt) {
      // An earlier life of this hub's name, restarted without its state.
      this.#membership.replaced(id, this.#replica.id);
      return;
    }
    this.#membership.join(id);
    if (announcement.name !== undefined) this.#membership.livesAt(id, announcement.name);
    this.#membership.heard(id, announcement.message, now);
    const { folded, clock } = announcement.message;
    if (folded !== undefined) this.#restampBelow(folded, clock, id);
    if (folded !== undefined && this.#replica.heardFold(folded, announcement.message.vector)) this.#log('%s folded at %d.%d', id, folded.wall, folded.count);
    this.#replica.observe(clock);
    // It holds more of a stream than this hub took, and this hub's cursor ran ahead: read again.
    for (const origin of this.#reader.origins) {
      if ((announcement.message.vector[origin]?.seq ?? 0) > this.#replica.seqOf(origin) && this.#reader.ahead(origin)) this.#reader.rewind(origin);
    }
    this.#hubs.up(id);
  }

  // A hub that wrote before it heard from its group (started while Redis was away) may find
  // the group folded past its writes: while none of them left it, they are stamped again after
  // `clock` (Replica.restampOwn), as a hub joining the mesh does.
  #restampBelow(folded: Stamp, clock: Stamp, by: string): void {
    if (this.#own.shared || !this.#replica.restampOwn(folded, clock)) return;
    this.#own.restamped();
    this.#log('restamped the writes made before joining: %s folded past them', by);
  }

  // The highest seq of `origin` this hub and every member has read, by their latest frontiers
  // (0 while one has told none). Hubs gone for good (left, or retired by their name) read no
  // more, and hold nothing back.
  #readByAll(origin: NodeId): number {
    let least = this.#replica.seqOf(origin);
    for (const id of this.#hubs.ids()) {
      if (this.#membership.isRetired(id)) continue;
      least = Math.min(least, this.#membership.seenBy(id, origin) ?? 0);
    }
    return least;
  }

  // What this hub knows of the group, its own name among the places: a hub that restarts under
  // the name retires this one by it, even if Redis lost every announcement this one made (its
  // ops may reach others only through a snapshot it wrote).
  #group(): GroupMessage {
    const group = this.#membership.group();
    const name = this.#settings.name;
    return name === undefined ? group : { ...group, places: [...(group.places ?? []), [this.#replica.id, name] as const] };
  }

  async #announce(left: boolean): Promise<void> {
    const message = { ...this.#membership.message(this.#replica), ...this.#group() };
    const announcement: Announcement = { id: this.#replica.id, incarnation: this.#incarnation, at: this.#clock.now(), name: this.#settings.name, left, message };
    await this.#store.announce(this.#keys.hubs, this.#replica.id, encodeAnnouncement(announcement));
  }

  // A stream paused at a gap: a newer snapshot may cover it (tried at most once a second).
  async #fillGaps(): Promise<void> {
    const now = this.#clock.now();
    if (this.#gapSince !== undefined && now - this.#gapSince < 1000 && this.#snapshot.adoptions > 0) return;
    this.#gapSince = now;
    if (await this.#snapshot.adopt()) this.#gapSince = undefined;
    // Read on from where this hub stands now (it may have got there another way); a gap still
    // there pauses the stream again at once.
    else this.#reader.rewind();
  }

  // The leader is the lowest id among the live hubs: it writes the snapshot and trims.
  #leader(): boolean {
    return this.#hubs.lowestLive(this.#replica.id, this.#clock.now());
  }

  // The stored snapshot checked every snapshotMs (see GroupSnapshot.check), then the leader trims.
  async #snapshotAndTrim(leader: boolean): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#lastSnapshotAt >= this.#settings.snapshotMs && !this.#waitsForGap() && this.#snapshot.startCheck(leader, now, this.#settings.snapshotMs)) {
      this.#lastSnapshotAt = now;
    }
    if (leader) await this.#trim();
  }

  // Trims each stream below what the stored snapshot covers and every member has read: a
  // newcomer starts from the snapshot, and nobody needs an entry below both.
  async #trim(): Promise<void> {
    if (this.#snapshot.covered === '') return;
    if (this.horizon() === undefined) return; // some member's frontier is missing or stale
    const covered = JSON.parse(this.#snapshot.covered) as Record<string, number>;
    for (const origin of [this.#replica.id, ...this.#reader.origins]) {
      const below = Math.min(covered[origin] ?? 0, this.#readByAll(origin));
      if (below > 0) await this.#store.trim(this.#keys.stream(origin), entryId(below + 1));
    }
  }

  get #maxAgeMs(): number {
    return 3 * this.#settings.announceMs + 1000;
  }

  /** Streams an op this hub stamped (appended at the end of the turn, or once the spacing allows: OwnStream). */
  localOp(op: Op): void {
    this.#own.record(op);
  }

  /** The GC horizon this hub may fold at now, or undefined (see groupHorizon). */
  horizon(): Stamp | undefined {
    // Not before every hub that started about when this one did has had time to announce itself:
    // a group of hubs has no list of who is in it, only the hash.
    // Counted from the start of this hub's latest unbroken run of rounds with Redis: after an
    // outage it may not have heard of hubs that started meanwhile. And not while Redis is away:
    // what this hub folds then, it may be the only one to hold (Redis may come back without
    // this hub's last entries, and without the announcements of hubs it never heard of).
    const now = this.#clock.now();
    const warm = this.#store.ready && this.#inContactSince !== undefined && now - this.#inContactSince >= this.#maxAgeMs && now - this.#lastRoundAt <= this.#maxAgeMs;
    const ready = warm && this.#bootstrapped && !this.#waitsForGap();
    return groupHorizon(this.#membership, this.#replica, ready, this.#maxAgeMs, this.#clock.now(), this.#log);
  }

  // Whether a stream is paused at a gap that may still be filled. One of a hub gone for good
  // may never be (its last entries lost with Redis, and nobody else read them): GC goes on by
  // the group's rules (groupHorizon forgets ops lost with their hub), and a snapshot still
  // fills it if some hub had read further.
  #waitsForGap(): boolean {
    for (const origin of this.#reader.paused) if (!this.#membership.isRetired(origin)) return true;
    return false;
  }

  /** How many other hubs GC counts as members of the group. */
  get members(): number {
    return this.#membership.counts.members;
  }

  /** The hubs of the group heard of. */
  hubs(): RedisHubStats[] {
    return this.#hubs.stats(this.#replica.vector(), this.#clock.now());
  }

  stats(): RedisStats {
    return {
      group: this.#settings.group,
      name: this.#settings.name,
      connected: this.#store.ready,
      hubs: this.hubs(),
      queuedOps: this.#own.queued,
      entriesAppended: this.#own.entries,
      entriesRebuilt: this.#own.rebuilt,
      entriesRead: this.#reader.entries,
      opsRead: this.#reader.ops,
      rejected: { entries: this.#refusedEntries + this.#own.refused, announcements: this.#hubs.refused, snapshots: this.#snapshot.refused },
      snapshotsWritten: this.#snapshot.written,
      snapshotFolded: this.#snapshot.knownFolded,
      bootstraps: this.#snapshot.adoptions,
      gaps: this.#gaps,
      errors: this.#errors + this.#own.failures + this.#snapshot.failures,
    };
  }

  /** Appends what is left and, for a hub that leaves for good, says so; then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopTimer?.();
    await this.#round;
    this.#closed = true;
    // A check under way stops at once, and ends after the store closes (below): a part of an
    // upload queued while Redis is away fails with it, rather than hold this close.
    const snapshotDone = this.#snapshot.close();
    this.#reader.close();
    try {
      if (this.#store.ready) {
        await this.#own.close();
        await this.#announce(this.#settings.leaves && this.#own.queued === 0);
      }
    } catch (error) {
      this.#log('could not say goodbye to Redis: %s', (error as Error).message);
    }
    await this.#store.close();
    await snapshotDone;
  }
}
