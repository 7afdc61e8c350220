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
import { peerLag } from '../lag.js';
import { EventEmitter } from 'node:events';
import type { NodeId, Stamp } from '../../core/clock.js';
import type { DecodeLimits } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import { Replica } from '../../core/replica.js';
import { CollectiveError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { newIncarnation } from '../../wire/auth.js';
import { MAX_GROUP_IDS, type GroupMessage } from '../../wire/peer.js';
import { decodeAnnouncement, encodeAnnouncement, entryId, groupKeys, seqsOf, type Announcement, type GroupKeys } from '../../wire/redis.js';
import type { MeshClock } from '../clock.js';
import { groupHorizon, Membership } from '../membership.js';
import { GroupSnapshot } from './group-snapshot.js';
import { NameClaim } from './name-claim.js';
import { OwnStream } from './own-stream.js';
import { StreamReader } from './reader.js';
import type { GroupStore } from './store.js';

/** The settings of a hub's Redis tier, every one given (see DEFAULTS). */
export interface RedisTierSettings {
  readonly group: string;
  /** The name this hub runs under (one live hub per name); a hub under it before is gone for good. */
  readonly name: string | undefined;
  /** How often the hub announces its frontier and reads the others'. */
  readonly announceMs: number;
  /** How often the leader (the lowest live id) writes a snapshot, when something changed. */
  readonly snapshotMs: number;
  /** Own ops kept in memory for a second append (see OwnStream). */
  readonly maxQueuedOps: number;
  /** Most ops per stream entry (OPS_PER_ENTRY unless given: the simulator makes it small). */
  readonly opsPerEntry?: number;
  /** A clean close leaves the group for good (a hub without `persist`: its id never comes back). */
  readonly leaves: boolean;
  /** How long start() waits for a first round with Redis. */
  readonly startTimeoutMs: number;
  readonly limits: DecodeLimits & { maxEntryBytes: number; maxSnapshotBytes: number };
}

/** Events of the Redis tier. */
export interface RedisTierEvents {
  /** A hub of the group announced itself (first, or again after being silent). */
  'peer:up': [id: string, address: string];
  /** A hub of the group has been silent past the heartbeat, or left. */
  'peer:down': [id: string, address: string];
}

/** One hub of the group as `stats().redis` shows it. */
export interface RedisHubStats {
  id: string;
  name: string | undefined;
  /** Milliseconds since its last announcement, by this hub's clock. */
  silentMs: number;
  /** It closed for good. */
  left: boolean;
  /** This hub's writes it has not read yet (from its announcement). */
  behind: number;
  /** The same lag in write time (see PeerStats.lagMs). */
  lagMs: number | undefined;
  /** How far its clock is ahead of this hub's, from its latest announcement (give or take `announceMs`). */
  clockOffsetMs: number;
}

/** Counters of a hub's Redis tier. */
export interface RedisStats {
  group: string;
  name: string | undefined;
  connected: boolean;
  hubs: RedisHubStats[];
  /** Own ops not yet known to be in this hub's stream (queued while Redis is away). */
  queuedOps: number;
  entriesAppended: number;
  /** Of those, entries rebuilt from the replica: own ops past `maxQueuedOps` no longer kept. */
  entriesRebuilt: number;
  entriesRead: number;
  opsRead: number;
  /** Entries, announcements and snapshots refused as malformed, never applied. */
  rejected: { entries: number; announcements: number; snapshots: number };
  snapshotsWritten: number;
  /** Whether the stored snapshot held everything folded (no op records) when this hub last stored or adopted it. */
  snapshotFolded: boolean;
  /** Snapshots adopted (at start, and to fill a gap). */
  bootstraps: number;
  /** Streams found with a gap at this hub's position (filled by a snapshot, never skipped). */
  gaps: number;
  /** Commands that failed (Redis away). */
  errors: number;
}

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
  // Per hub heard of: its latest announcement, and when (by this hub's clock) it last changed.
  readonly #heard = new Map<NodeId, { announcement: Announcement; changedAt: number; up: boolean }>();
  #stopTimer: (() => void) | undefined;
  #round: Promise<void> | undefined;
  #bootstrapped = false;
  #lastSnapshotAt = 0;
  #lastSnapshotVector = '';
  // The stored snapshot's vector as last read, and since when it reads so.
  #storedVector: string | undefined | 'too large';
  #storedSince = 0;
  #gapSince: number | undefined;
  // When the last round with Redis completed, and since when rounds have gone on unbroken.
  #lastRoundAt = 0;
  #inContactSince: number | undefined;
  // Per origin behind what it says it holds: this hub's position, and rounds it has not moved.
  readonly #stuck = new Map<NodeId, { position: number; rounds: number }>();
  readonly #nameClaim: NameClaim | undefined;
  #closed = false;
  #fatal: CollectiveError | undefined;
  readonly #firstRound: Promise<void>;
  #firstRoundDone!: () => void;
  readonly #rejected = { entries: 0, announcements: 0 };
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
    this.#nameClaim = settings.name === undefined ? undefined : new NameClaim(settings.name, settings.group, this.#maxAgeMs);
    this.#own = new OwnStream(replica, store, this.#keys.stream(replica.id), settings, (callback) => clock.defer(callback), log);
    this.#reader = new StreamReader(replica, store, this.#keys, { blockMs: Math.max(settings.announceMs, 250), limits: settings.limits }, clock, {
      gap: (origin, from) => {
        this.#gaps++;
        this.#log('the stream of %s starts at %d, past this hub at %d: waiting for a snapshot that covers it', origin, from, replica.seqOf(origin));
        this.#gapSince ??= clock.now();
      },
      refused: (origin, id, reason) => {
        this.#rejected.entries++;
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
      this.#allDown();
      this.#inContactSince = undefined;
    }
    if (this.#closed || this.#fatal !== undefined || !this.#store.ready) return Promise.resolve();
    this.#round ??= this.#roundOnce().finally(() => (this.#round = undefined));
    return this.#round;
  }

  async #roundOnce(): Promise<void> {
    try {
      const announcements = this.#announcements(await this.#store.announcements(this.#keys.hubs, MAX_GROUP_IDS));
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
      await this.#probeStuck();
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

  // The announcements of the other hubs, checked (a malformed one is refused and counted).
  #announcements(hashed: Map<string, string> | 'too many'): Announcement[] {
    if (hashed === 'too many') {
      this.#rejected.announcements++;
      this.#log('the group hash holds more than %d hubs: refused', MAX_GROUP_IDS);
      return [];
    }
    const announcements: Announcement[] = [];
    for (const [field, text] of hashed) {
      if (field === this.#replica.id) continue;
      try {
        announcements.push(decodeAnnouncement(field, text, this.#settings.limits.maxEntryBytes));
      } catch (error) {
        this.#rejected.announcements++;
        this.#log('refused the announcement under %s: %s', field.slice(0, 40), (error as Error).message);
      }
    }
    return announcements;
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
    for (const [id, heard] of this.#heard) {
      if (heard.up && (heard.announcement.left === true || now - heard.changedAt > this.#maxAgeMs)) {
        heard.up = false;
        this.emit('peer:down', id, 'redis');
      }
    }
  }

  #allDown(): void {
    for (const [id, heard] of this.#heard) {
      if (!heard.up) continue;
      heard.up = false;
      this.emit('peer:down', id, 'redis');
    }
  }

  #heardOne(announcement: Announcement, now: number): void {
    const { id } = announcement;
    this.#reader.add(id);
    const before = this.#heard.get(id);
    if (before !== undefined && before.announcement.at === announcement.at && before.announcement.incarnation === announcement.incarnation) return;
    const heard = { announcement, changedAt: now, up: before?.up ?? false };
    this.#heard.set(id, heard);
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
    if (!heard.up) {
      heard.up = true;
      this.emit('peer:up', id, 'redis');
    }
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
    for (const id of this.#heard.keys()) {
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

  // Streams of which the group holds more than this hub took, with no progress for three rounds.
  async #probeStuck(): Promise<void> {
    for (const origin of this.#reader.origins) {
      const position = this.#replica.seqOf(origin);
      // What the group holds of it: its own word, or another hub's that read further (the
      // origin may be gone, and Redis may have lost what it said last).
      let says = 0;
      for (const { announcement } of this.#heard.values()) says = Math.max(says, announcement.message.vector[origin]?.seq ?? 0);
      const stuck = this.#stuck.get(origin);
      if (says <= position) {
        this.#stuck.delete(origin);
        continue;
      }
      if (stuck === undefined || stuck.position !== position) {
        this.#stuck.set(origin, { position, rounds: 1 });
        continue;
      }
      if (++stuck.rounds < 3) continue;
      this.#stuck.delete(origin);
      await this.#reader.probe(origin);
    }
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
    const now = this.#clock.now();
    for (const [id, heard] of this.#heard) {
      if (heard.announcement.left !== true && now - heard.changedAt <= this.#maxAgeMs && id < this.#replica.id) return false;
    }
    return true;
  }

  // The leader stores a snapshot every snapshotMs when it would hold more than the stored one.
  // Any other hub does too once the stored one has not moved for three times that while it holds
  // more: a leader waiting for a gap itself cannot fill anyone's.
  async #snapshotAndTrim(leader: boolean): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#lastSnapshotAt >= this.#settings.snapshotMs && !this.#waitsForGap()) {
      this.#lastSnapshotAt = now;
      const vector = JSON.stringify(seqsOf(this.#replica.vector()));
      const stored = await this.#snapshot.storedVector();
      if (stored !== this.#storedVector) {
        this.#storedVector = stored;
        this.#storedSince = now;
      }
      const stale = now - this.#storedSince > 3 * this.#settings.snapshotMs;
      const refold = leader && stored === vector && this.#snapshot.worthStoringAgain(vector);
      // A refold is the leader's: `leader` lets it store.
      if ((stored === vector && !refold) || ((leader || stale) && (await this.#snapshot.put(vector)))) this.#lastSnapshotVector = vector;
    }
    if (leader) await this.#trim();
  }

  // Trims each stream below what the stored snapshot covers and every member has read: a
  // newcomer starts from the snapshot, and nobody needs an entry below both.
  async #trim(): Promise<void> {
    if (this.#lastSnapshotVector === '') return;
    if (this.horizon() === undefined) return; // some member's frontier is missing or stale
    const covered = JSON.parse(this.#lastSnapshotVector) as Record<string, number>;
    for (const origin of [this.#replica.id, ...this.#reader.origins]) {
      const below = Math.min(covered[origin] ?? 0, this.#readByAll(origin));
      if (below > 0) await this.#store.trim(this.#keys.stream(origin), entryId(below + 1));
    }
  }

  get #maxAgeMs(): number {
    return 3 * this.#settings.announceMs + 1000;
  }

  /** Streams an op this hub stamped (appended at the end of the turn). */
  localOp(op: Op): void {
    this.#own.record(op);
  }

  /** The GC horizon this hub may fold at now, or undefined (see groupHorizon). */
  horizon(): Stamp | undefined {
    // Not before every hub that started about when this one did has had time to announce itself:
    // a group of hubs has no list of who is in it, only the hash.
    // Counted from the start of this hub's latest unbroken run of rounds with Redis: after an
    // outage it may not have heard of hubs that started meanwhile.
    const now = this.#clock.now();
    const warm = this.#inContactSince !== undefined && now - this.#inContactSince >= this.#maxAgeMs && now - this.#lastRoundAt <= this.#maxAgeMs;
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
    const now = this.#clock.now();
    const own = this.#replica.vector();
    return [...this.#heard.values()].map(({ announcement, changedAt }) => ({
      id: announcement.id,
      name: announcement.name,
      silentMs: now - changedAt,
      left: announcement.left === true,
      ...peerLag(own, announcement.message.vector, this.#replica.id),
      clockOffsetMs: announcement.at - changedAt,
    }));
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
      rejected: { entries: this.#rejected.entries + this.#own.refused, announcements: this.#rejected.announcements, snapshots: this.#snapshot.refused },
      snapshotsWritten: this.#snapshot.written,
      snapshotFolded: this.#snapshot.knownFolded,
      bootstraps: this.#snapshot.adoptions,
      gaps: this.#gaps,
      errors: this.#errors + this.#own.failures,
    };
  }

  /** Appends what is left and, for a hub that leaves for good, says so; then disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopTimer?.();
    await this.#round;
    this.#closed = true;
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
  }
}
