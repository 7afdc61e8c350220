import type { Stamp } from '../../core/clock.js';
import type { DecodeLimits } from '../../core/codec.js';
import { Replica } from '../../core/replica.js';
import { SnapshotReadings } from '../../core/live-readings.js';
import type { Logger } from '../../log.js';
import type { GroupMessage } from '../../wire/peer.js';
import { decodeGroupSnapshot, groupSnapshotSlices, seqsOf, type GroupKeys } from '../../wire/redis.js';
import type { GroupStore, SnapshotPut } from './store.js';

// An upload's key outlives its last part by this long: one its hub gave up on (the hub died, or
// lost Redis) goes away by itself, and a live upload sends its next part well within it.
const UPLOAD_TTL_MS = 60_000;

// A snapshot holding more op records than this waits for GC to fold them (see check): each record
// costs its writer and every newcomer several times what its folded value does (the bench's
// writing hub spent 15% of its time storing snapshots of its 300k-600k records of one counter,
// and ran at half speed in the bursts where one was stored).
const MANY_RECORDS = 10_000;
// ... for at most this many checks since the stored snapshot last moved.
const RECORDS_WAIT_CHECKS = 10;

/** What the group snapshot needs of its tier. */
export interface SnapshotHost {
  /** What this hub knows of the group, stored with its snapshot. */
  group(): GroupMessage;
  /** What the snapshot's writer knew of the group. */
  heardGroup(group: GroupMessage): void;
  /** The snapshot folded at `folded`: own writes below it that never left are stamped again. */
  foldedAt(folded: Stamp, clock: Stamp): void;
  /** A snapshot was adopted: the streams are read again from the new position. */
  adopted(): void;
}

/**
 * The group's snapshot in Redis, for newcomers and for readers at a gap: read, checked whole
 * and adopted; stored only when it covers the one stored (a Lua compare-and-set: snapshots never
 * go back), and replacing one that is not what its vector claims.
 */
export class GroupSnapshot {
  readonly #replica: Replica;
  readonly #store: GroupStore;
  readonly #keys: GroupKeys;
  readonly #limits: DecodeLimits & { maxSnapshotBytes: number };
  readonly #host: SnapshotHost;
  readonly #log: Logger;
  /** Snapshots stored, adopted, refused as malformed. */
  written = 0;
  adoptions = 0;
  refused = 0;
  // The stored snapshot as this hub knows it (it stored or adopted it): its vector, and whether
  // it held everything folded (no op records).
  #knownVector = '';
  #knownFolded = false;
  // The stored snapshot's vector as last read, and since when it reads so.
  #storedVector: string | undefined | 'too large';
  #storedSince = 0;
  /**
   * The vector (`{ origin: seq }` as JSON) of the stored snapshot as this hub last found it
   * holding what this hub held, or stored it; '' before: what streams may be trimmed below.
   */
  covered = '';
  /** Checks that failed (Redis went away, or refused a command). */
  failures = 0;
  #closed = false;
  // The check running, if one is: an upload takes as many turns as the store has slices, and
  // the hub's rounds with Redis go on meanwhile.
  #running: Promise<void> | undefined;

  constructor(replica: Replica, store: GroupStore, keys: GroupKeys, limits: DecodeLimits & { maxSnapshotBytes: number }, host: SnapshotHost, log: Logger) {
    this.#replica = replica;
    this.#store = store;
    this.#keys = keys;
    this.#limits = limits;
    this.#host = host;
    this.#log = log;
  }

  /** Adopts the stored snapshot, if there is one and it holds anything this hub lacks. */
  async adopt(): Promise<boolean> {
    const text = await this.#store.get(this.#keys.snapshot, this.#limits.maxSnapshotBytes);
    if (text === undefined) return false;
    if (text === 'too large') return this.#refuse(`over the limit of ${this.#limits.maxSnapshotBytes} bytes`);
    try {
      const { snapshot, group } = decodeGroupSnapshot(text);
      // Checked whole before anything of it is used.
      const incoming = Replica.fromSnapshot(snapshot, { ...this.#limits });
      // Whom its writer knew: a hub gone before this one heard of it is known by its name.
      this.#host.heardGroup(group);
      const folded = incoming.foldedTo;
      if (folded !== undefined) this.#host.foldedAt(folded, incoming.clockCeiling());
      const mine = this.#replica.vector();
      const adds = Object.entries(incoming.vector()).some(([origin, entry]) => entry.seq > (mine[origin]?.seq ?? 0));
      if (!adds) return false;
      this.#know(JSON.stringify(seqsOf(incoming.vector())), incoming.foldedThrough());
      this.#replica.adoptReplica(incoming); // decoded once: a snapshot of 1M ops takes seconds
    } catch (error) {
      return this.#refuse((error as Error).message);
    }
    this.adoptions++;
    this.#host.adopted();
    this.#log('adopted the group snapshot');
    return true;
  }

  /**
   * Starts a check (see check) in the background, unless one is running or this is closed;
   * whether it started. A failure is logged and counted (`failures`).
   */
  startCheck(leader: boolean, now: number, everyMs: number): boolean {
    if (this.#running !== undefined || this.#closed) return false;
    this.#running = this.check(leader, now, everyMs)
      .catch((error: Error) => {
        if (this.#closed) return;
        this.failures++;
        this.#log('storing the group snapshot failed: %s', error.message);
      })
      .finally(() => {
        this.#running = undefined;
      });
    return true;
  }

  /**
   * One check of the stored snapshot, every `everyMs` (`now`: this hub's clock). The leader
   * stores this hub's when it would hold more than the stored one, or the same once GC folded
   * it (worthStoringAgain). Any other hub does too once the stored one has not moved for three
   * times `everyMs` while this hub holds more: a leader waiting for a gap itself cannot fill
   * anyone's. While this hub holds many op records (a burst of writes GC has not folded yet),
   * both wait up to RECORDS_WAIT_CHECKS checks longer, for a snapshot as small as GC makes it.
   */
  async check(leader: boolean, now: number, everyMs: number): Promise<void> {
    const vector = JSON.stringify(seqsOf(this.#replica.vector()));
    const stored = await this.storedVector();
    if (stored !== this.#storedVector) {
      this.#storedVector = stored;
      this.#storedSince = now;
    }
    const waitMs = this.#replica.unfoldedOps() > MANY_RECORDS ? RECORDS_WAIT_CHECKS * everyMs : 0;
    const unmoved = now - this.#storedSince;
    const due = leader ? unmoved >= waitMs : unmoved > 3 * everyMs + waitMs;
    const refold = leader && stored === vector && this.worthStoringAgain(vector);
    // A refold is the leader's: `leader` lets it store.
    if (stored === vector && !refold) this.covered = vector;
    else if (due) this.covered = (await this.put()) ?? this.covered;
  }

  /** The stored snapshot's `{ origin: seq }` vector, as stored. */
  storedVector(): Promise<string | undefined | 'too large'> {
    return this.#store.get(this.#keys.snapshotVector, 1024 * 1024);
  }

  /**
   * Stores this hub's snapshot; returns its vector (`{ origin: seq }` as JSON) once stored. It is
   * taken at once, and uploaded a slice at a time as it is encoded (see jsonSlices): no turn of
   * the hub's event loop encodes or sends more than a slice, however large the store, and the
   * whole text never exists in this process. Refused, because the stored one holds ops this hub
   * lacks (a hub before it read further), it takes those instead; refused because the stored one
   * is not what its vector claims (written by something else), it replaces it.
   */
  async put(): Promise<string | undefined> {
    // The snapshot, its vector and whether it is all folded, taken in one turn, agree.
    const folded = this.#replica.foldedThrough();
    const vector = JSON.stringify(seqsOf(this.#replica.vector()));
    // Its readings end once it is uploaded, or given up: until then every fold keeps for them
    // what it replaces.
    const readings = new SnapshotReadings();
    const slices = groupSnapshotSlices(this.#replica.snapshot(readings), this.#host.group());
    const upload = this.#keys.upload(this.#replica.id);
    let bytes = 0;
    let first = true;
    try {
      for (const slice of slices) {
        if (this.#closed) return undefined;
        bytes += Buffer.byteLength(slice, 'utf8');
        if (bytes > this.#limits.maxSnapshotBytes) {
          // No hub would adopt it (see adopt): the upload is left to expire.
          this.#log('not storing the snapshot: over the limit of %d bytes', this.#limits.maxSnapshotBytes);
          return undefined;
        }
        await this.#store.uploadPart(upload, slice, first, UPLOAD_TTL_MS);
        first = false;
      }
    } finally {
      readings.end();
    }
    let put: SnapshotPut = await this.#store.putSnapshot(this.#keys.snapshot, this.#keys.snapshotVector, upload, bytes, vector, false);
    if (put === 'refused') {
      if (await this.#storedHolds()) await this.adopt();
      else put = await this.#store.putSnapshot(this.#keys.snapshot, this.#keys.snapshotVector, upload, bytes, vector, true);
    }
    if (put === 'incomplete') this.#log('the snapshot upload lost a part (Redis restarted, or it expired): stored at a later check');
    if (put !== 'stored') return undefined;
    this.written++;
    this.#know(vector, folded);
    return vector;
  }

  /**
   * Stops a check under way (an upload at its next slice); resolves when it has ended. A command
   * of it queued while Redis is away ends only when the store closes: await this after that.
   */
  close(): Promise<void> {
    this.#closed = true;
    return this.#running ?? Promise.resolve();
  }

  /** Whether the stored snapshot held everything folded when this hub last stored or adopted it. */
  get knownFolded(): boolean {
    return this.#knownFolded;
  }

  /**
   * Whether the stored snapshot, whose vector is this hub's (`vector`), is worth storing again:
   * once GC has folded everything in it, when it held op records (a newcomer adopts those in
   * several times the time and memory of folded values: at 1M keys written at once, 560 bytes
   * a key against 50) or this hub does not know what it held (stored by a hub tired of waiting
   * for the leader, or by a leader since gone). Once per vector: then it is known folded.
   */
  worthStoringAgain(vector: string): boolean {
    return (vector !== this.#knownVector || !this.#knownFolded) && this.#replica.foldedThrough();
  }

  #know(vector: string, folded: boolean): void {
    this.#knownVector = vector;
    this.#knownFolded = folded;
  }

  // Whether the stored snapshot is one, and its stored vector is the snapshot's own.
  async #storedHolds(): Promise<boolean> {
    const [text, vector] = await Promise.all([this.#store.get(this.#keys.snapshot, this.#limits.maxSnapshotBytes), this.storedVector()]);
    if (typeof text !== 'string' || typeof vector !== 'string' || text === 'too large' || vector === 'too large') return false;
    try {
      const stored = Replica.fromSnapshot(decodeGroupSnapshot(text).snapshot, { ...this.#limits });
      const claimed = JSON.parse(vector) as Record<string, unknown>;
      const own = seqsOf(stored.vector());
      return Object.keys(claimed).length === Object.keys(own).length && Object.entries(own).every(([origin, seq]) => claimed[origin] === seq);
    } catch (error) {
      return this.#refuse((error as Error).message);
    }
  }

  #refuse(reason: string): false {
    this.refused++;
    this.#log('refused the group snapshot: %s', reason);
    return false;
  }
}
