import type { NodeId } from '../../core/clock.js';
import type { DecodeLimits } from '../../core/codec.js';
import type { Replica } from '../../core/replica.js';
import type { Logger } from '../../log.js';
import { decodeEntry, entryId, type GroupKeys } from '../../wire/redis.js';
import type { MeshClock } from '../clock.js';
import type { GroupStore, RawEntry } from './store.js';

// Most entries taken from one stream per read.
const ENTRIES_PER_READ = 100;

/** What the reader needs of its tier. */
export interface ReaderHost {
  /** `origin`'s stream has a gap at this hub's position: only a snapshot can fill it. */
  gap(origin: NodeId, from: number): void;
  /** Why an entry was refused, for the log and the counters. */
  refused(origin: NodeId, id: string, reason: string): void;
}

/**
 * Reads every other hub's stream of the group from where this hub's version vector stands, with
 * blocking reads on a connection of their own, and applies each entry whole (checked first). An
 * entry that starts past this hub's position is a gap (the ops before it were trimmed away, or
 * Redis lost them): that stream is paused until a snapshot fills it, never skipped.
 */
export class StreamReader {
  readonly #replica: Replica;
  readonly #store: GroupStore;
  readonly #keys: GroupKeys;
  readonly #clock: MeshClock;
  readonly #log: Logger;
  readonly #host: ReaderHost;
  readonly #blockMs: number;
  readonly #limits: DecodeLimits & { maxEntryBytes: number };
  // Per origin, the id of the last entry taken (applied or refused).
  readonly #cursors = new Map<NodeId, string>();
  readonly #paused = new Set<NodeId>();
  readonly #byKey = new Map<string, NodeId>();
  // Per origin the group holds more of than this hub took: its position, and rounds it has not moved.
  readonly #stuck = new Map<NodeId, { position: number; rounds: number }>();
  #closed = false;
  #running: Promise<void> | undefined;
  /** Entries applied, ops in them. */
  entries = 0;
  ops = 0;

  constructor(
    replica: Replica,
    store: GroupStore,
    keys: GroupKeys,
    settings: { blockMs: number; limits: DecodeLimits & { maxEntryBytes: number } },
    clock: MeshClock,
    host: ReaderHost,
    log: Logger,
  ) {
    this.#replica = replica;
    this.#store = store;
    this.#keys = keys;
    this.#clock = clock;
    this.#host = host;
    this.#blockMs = settings.blockMs;
    this.#limits = settings.limits;
    this.#log = log;
  }

  /** Reads `origin`'s stream from now on (from this hub's position in it). */
  add(origin: NodeId): void {
    if (origin === this.#replica.id || this.#cursors.has(origin)) return;
    this.#cursors.set(origin, entryId(this.#position(origin)));
    this.#byKey.set(this.#keys.stream(origin), origin);
  }

  /** The streams read. */
  get origins(): IterableIterator<NodeId> {
    return this.#cursors.keys();
  }

  /** The streams paused at a gap. */
  get paused(): ReadonlySet<NodeId> {
    return this.#paused;
  }

  /**
   * Reads every stream again from this hub's position (after a snapshot moved it, or when an
   * origin says it holds more than this hub took: a cursor ahead of the position).
   */
  rewind(origin?: NodeId): void {
    for (const id of origin === undefined ? [...this.#cursors.keys()] : [origin]) {
      this.#cursors.set(id, entryId(this.#position(id)));
      this.#paused.delete(id);
    }
  }

  /** Whether the cursor of `origin` is past this hub's position (entries refused or cut short). */
  ahead(origin: NodeId): boolean {
    const cursor = this.#cursors.get(origin);
    return cursor !== undefined && cursor !== entryId(this.#position(origin));
  }

  #position(origin: NodeId): number {
    return this.#replica.seqOf(origin);
  }

  /** Starts the read loop. */
  start(): void {
    this.#running ??= this.#loop();
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      const cursors: [string, string][] = [];
      for (const [origin, cursor] of this.#cursors) if (!this.#paused.has(origin)) cursors.push([this.#keys.stream(origin), cursor]);
      if (cursors.length === 0 || !this.#store.ready) {
        await this.#pause(this.#blockMs);
        continue;
      }
      let streams: Map<string, RawEntry[]>;
      try {
        streams = await this.#store.read(cursors, ENTRIES_PER_READ, this.#blockMs);
      } catch (error) {
        if (!this.#closed) this.#log('reading the streams failed: %s', (error as Error).message);
        await this.#pause(this.#blockMs);
        continue;
      }
      for (const [key, entries] of streams) {
        const origin = this.#byKey.get(key);
        if (origin !== undefined && !this.#closed) this.#take(origin, entries);
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.after(ms, resolve));
  }

  #take(origin: NodeId, entries: readonly RawEntry[]): void {
    for (const raw of entries) {
      let entry;
      try {
        entry = decodeEntry(origin, raw.id, raw.fields, this.#limits);
      } catch (error) {
        this.#host.refused(origin, raw.id, (error as Error).message);
        this.#cursors.set(origin, raw.id);
        continue;
      }
      const position = this.#position(origin);
      if (entry.from > position) {
        if (this.ahead(origin)) {
          // Entries were refused on the way here: read again from the position first.
          this.rewind(origin);
          return;
        }
        this.#paused.add(origin);
        this.#host.gap(origin, entry.from);
        return;
      }
      if (entry.upTo > position) {
        const receiver = this.#replica.receiveDelta(entry.stamp);
        receiver.apply(entry.ops);
        // An entry rebuilt from a replica lacks the ops overwritten since: it covers them too.
        receiver.end({ [origin]: { seq: entry.upTo, stamp: entry.stamp } });
        this.entries++;
        this.ops += entry.ops.length;
      }
      this.#cursors.set(origin, raw.id);
    }
  }

  /**
   * Probes (see `probe`) each stream of which the group holds more than this hub took, by
   * `mostHeldOf`, with no progress for three of these rounds.
   */
  async probeStuck(mostHeldOf: (origin: NodeId) => number): Promise<void> {
    for (const origin of this.origins) {
      const position = this.#position(origin);
      const stuck = this.#stuck.get(origin);
      if (mostHeldOf(origin) <= position) {
        this.#stuck.delete(origin);
        continue;
      }
      if (stuck === undefined || stuck.position !== position) {
        this.#stuck.set(origin, { position, rounds: 1 });
        continue;
      }
      if (++stuck.rounds < 3) continue;
      this.#stuck.delete(origin);
      await this.probe(origin);
    }
  }

  /**
   * `origin` says it holds ops past this hub's position and none came for a while: the entries
   * there may have been trimmed away, or lost with Redis, with nothing after them to show a gap.
   * Looks at the first entry after the position: none, or one that starts past it, is a gap.
   */
  async probe(origin: NodeId): Promise<void> {
    if (this.#paused.has(origin) || !this.#cursors.has(origin)) return;
    const position = this.#position(origin);
    const [first] = await this.#store.range(this.#keys.stream(origin), entryId(position), 1);
    if (this.#position(origin) !== position || this.#paused.has(origin)) return; // it moved meanwhile
    let from: number | undefined;
    if (first !== undefined) {
      try {
        from = decodeEntry(origin, first.id, first.fields, this.#limits).from;
      } catch {
        // Refused on the way, as the read loop does; read again from the position.
      }
    }
    if (first !== undefined && (from === undefined || from <= position)) {
      this.rewind(origin);
      return;
    }
    this.#paused.add(origin);
    this.#host.gap(origin, from ?? position + 1);
  }

  /** Stops reading (a read in flight ends when the store closes). */
  close(): void {
    this.#closed = true;
  }
}
