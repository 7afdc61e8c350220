import type { NodeId } from '../../core/clock.js';
import type { DecodeLimits } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import { SnapshotReadings } from '../../core/live-readings.js';
import type { ReplicaSnapshot } from '../../core/replica-types.js';
import type { JsonValue } from '../../core/value.js';
import { jsonSlices } from '../../wire/json-slices.js';
import { PersistError } from '../../errors.js';
import { bootId } from './boot.js';
import { ensureDirectory, ioError, removeLogsBefore, removeLogsBeforeAsync, writeSnapshotFileInParts, writeSnapshotFileSync } from './directory.js';
import { Journal, type FsyncMode } from './journal.js';
import { lockDirectory, type DirectoryLock } from './lock.js';
import { encodeRecord } from './records.js';
import { MAX_PREDECESSORS, recover, type Recovered, type SnapshotRecord } from './recover.js';

/** `persist`, checked and completed with the defaults. */
export interface PersistSettings {
  readonly dir: string;
  readonly fsync: FsyncMode;
  readonly intervalMs: number;
  readonly compactBytes: number;
  /**
   * Logs holding more ops than this since the last snapshot make a new one, whatever their
   * bytes: a start after kill -9 replays at most about this many (not an option: see DEFAULTS).
   */
  readonly compactOps: number;
}

/**
 * What `{ durable: true }` gets from a hub without `persist`: a rejection, marked handled (a
 * write nobody awaits must not crash the process).
 */
export function notPersistent(): Promise<void> {
  const refused = Promise.reject(new PersistError('ERR_COLLECTIVE_NOT_PERSISTENT', 'A durable write needs a hub with `persist` (this one keeps its store in memory only)'));
  refused.catch(() => undefined);
  return refused;
}

/** Figures of a hub's persistence, for `stats().persist`. */
export interface PersistStats {
  readonly dir: string;
  readonly fsync: FsyncMode;
  /** The log appended to now. */
  readonly generation: number;
  /** Bytes of log written since the last snapshot. */
  readonly logBytes: number;
  readonly records: number;
  readonly fsyncs: number;
  readonly compactions: number;
  /** The longest a compaction held the event loop (taking the snapshot), in ms. */
  readonly longestCompactionPauseMs: number;
  /** Why writing stopped, if it did (the store goes on in memory). */
  readonly failed: string | undefined;
}

type Log = (format: string, ...args: unknown[]) => void;

/**
 * A hub's store on disk (hub/persist/): a snapshot, and logs of the op batches applied since,
 * in a directory this hub holds the lock of. `open` reads back what is there; the hub builds
 * its replica from it and `start`s, which begins a new log. From then on every op applied is
 * `record`ed; a compaction writes a new snapshot once the logs grow past `compactBytes`.
 */
export class Persistence {
  readonly #settings: PersistSettings;
  readonly #lock: DirectoryLock;
  readonly #log: Log;
  // What the directory held, until `start` (then it is dropped: the snapshot read back and the
  // ops of the logs are the replica's now, and must not be kept twice).
  #recovered: Recovered | undefined;
  #journal: Journal | undefined;
  #id: NodeId | undefined;
  #logBytes: number;
  // Ops in the logs since the last snapshot (read back, then recorded): see PersistSettings.compactOps.
  #logOps = 0;
  #compacting: Promise<void> | undefined;
  #compactions = 0;
  #longestPauseMs = 0;
  // The ids the directory's state was kept under before this hub's (see SnapshotRecord).
  #predecessors: NodeId[] = [];
  // What the hub last knew of its group (see Journal.recordGroup): in every snapshot too.
  #group: unknown;
  // Reads the state now, for snapshots; and whether the logs hold ops no snapshot has.
  #take: ((readings: SnapshotReadings) => ReplicaSnapshot) | undefined;
  #unsnapshotted = false;
  #compactScheduled = false;
  #closed = false;

  private constructor(settings: PersistSettings, lock: DirectoryLock, recovered: Recovered, logBytes: number, log: Log) {
    this.#settings = settings;
    this.#lock = lock;
    this.#recovered = recovered;
    this.#logBytes = logBytes;
    this.#log = log;
  }

  /** Takes the directory (created if missing) and reads back what it holds. */
  static open(settings: PersistSettings, limits: DecodeLimits, log: Log): Persistence {
    ensureDirectory(settings.dir);
    const lock = lockDirectory(settings.dir, (holder) => log('took over the stale lock of %s in %s', holder, settings.dir));
    try {
      const recovered = recover(settings.dir, limits);
      for (const note of recovered.notes) log('recovery: %s', note);
      if (recovered.newIdBecause !== undefined) log('the state of hub %s is kept, under a new id: %s', recovered.previousId, recovered.newIdBecause);
      if (recovered.previousId === undefined) log('%s holds no state: a new hub', settings.dir);
      else log('read back %d ops of logs%s, written by hub %s', recovered.ops.length, recovered.snapshot === undefined ? '' : ' over a snapshot', recovered.previousId);
      return new Persistence(settings, lock, recovered, recovered.logBytes, log);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /**
   * Begins this start's log, for the hub `id`. When the hub took a new id over the state it
   * read back, that state is written as a snapshot of the new id first (`snapshot`), so that
   * the next start reads it as this hub's.
   */
  start(id: NodeId, snapshot: (readings: SnapshotReadings) => ReplicaSnapshot): void {
    const { previousId, predecessors, group, ops, nextGeneration } = this.recovered;
    this.#group = group;
    this.#recovered = undefined;
    this.#id = id;
    this.#take = snapshot;
    this.#unsnapshotted = ops.length > 0;
    this.#logOps = ops.length;
    this.#predecessors = previousId === undefined || previousId === id ? predecessors : [...predecessors, previousId].slice(-MAX_PREDECESSORS);
    const generation = nextGeneration;
    // Under a new id over kept state: that state is written as this id's snapshot first. It
    // stands for the start of log `generation`, which follows it: after a snapshot of
    // generation S come exactly the logs S, S+1, ... (recover() checks it).
    if (previousId !== undefined && previousId !== id) {
      const readings = new SnapshotReadings();
      this.#writeSnapshotSync(generation, this.#snapshotRecord(generation, snapshot(readings)), readings);
      this.#logBytes = 0;
      this.#logOps = 0;
      this.#unsnapshotted = false;
    }
    this.#journal = new Journal(this.#settings.dir, generation, this.#header(), this.#settings, this.#log, () => this.#written());
  }

  /** What the hub last kept of its group (`recordGroup`, or read back), unread: untrusted. */
  get group(): unknown {
    return this.#group;
  }

  /** The ids this directory's state was kept under before this hub's (oldest first). */
  get predecessors(): readonly NodeId[] {
    return this.#predecessors;
  }

  /** What the directory held: to build the replica from, before `start`. */
  get recovered(): Recovered {
    if (this.#recovered === undefined) throw new Error('what the directory held is read once, before start()');
    return this.#recovered;
  }

  /** Keeps what the hub knows of its group now (JSON-able): written at once. */
  recordGroup(payload: unknown): void {
    this.#group = payload;
    this.#journal?.recordGroup(payload);
  }

  /** Takes an op applied by the hub (written at the end of this turn). */
  record(op: Op): void {
    this.#unsnapshotted = true;
    this.#logOps++;
    this.#journal!.record(op);
  }

  // After each record written: past `compactBytes`, or `compactOps` ops, a compaction.
  #written(): void {
    if (this.#logBytes + this.#journal!.fileBytes > this.#settings.compactBytes || this.#logOps > this.#settings.compactOps) this.compactSoon();
  }

  /** Resolves once every op recorded so far is fsynced. */
  durable(): Promise<void> {
    return this.#journal!.durable();
  }

  /**
   * Writes a new snapshot and drops the logs it covers, soon (on the next turn, once however
   * many asked): the logs grew past `compactBytes`, or the state was replaced whole. Appends go
   * to a new log from the moment the state is taken; the snapshot is written off the event
   * loop's thread, only taking it and encoding it hold the loop.
   */
  compactSoon(): void {
    if (this.#compactScheduled || this.#compacting !== undefined || this.#closed) return;
    this.#compactScheduled = true;
    setImmediate(() => {
      this.#compactScheduled = false;
      if (this.#closed || this.#compacting !== undefined) return;
      const { generation, record, readings } = this.#beginSnapshot();
      this.#compacting = writeSnapshotFileInParts(this.#settings.dir, this.#timed(jsonSlices(record as unknown as JsonValue)))
        .then(async () => {
          await removeLogsBeforeAsync(this.#settings.dir, generation);
          this.#compactions++;
          this.#log('compacted: snapshot of generation %d', generation);
        })
        .catch((error: unknown) => this.#log('compaction failed (the logs stay): %s', (error as Error).message))
        .finally(() => {
          readings.end();
          this.#compacting = undefined;
        });
    });
  }

  /**
   * A compaction written before returning: for a state that must not be read back from the
   * logs (the hub restamped its own writes, and the logs hold them under their old stamps).
   */
  compactNow(): void {
    const { generation, record, readings } = this.#beginSnapshot();
    this.#writeSnapshotSync(generation, record, readings);
    this.#compactions++;
  }

  // Starts the next log and takes the state as the snapshot that stands for its start (a
  // reading that stays as it was while the hub writes on: see jsonSlices; end `readings` once
  // it is written). What a compaction holds the event loop for, with each slice of its
  // encoding (the longest is reported).
  #beginSnapshot(): { generation: number; record: SnapshotRecord; readings: SnapshotReadings } {
    const started = performance.now();
    const journal = this.#journal!;
    const generation = journal.generation + 1;
    journal.switchTo(generation, this.#header());
    this.#unsnapshotted = false;
    this.#logBytes = 0;
    this.#logOps = 0;
    const readings = new SnapshotReadings();
    const record = this.#snapshotRecord(generation, this.#take!(readings));
    this.#longestPauseMs = Math.max(this.#longestPauseMs, performance.now() - started);
    return { generation, record, readings };
  }

  // `parts`, each timed as it is made: a turn of the event loop a compaction holds.
  *#timed(parts: Iterator<string>): Generator<string, void, undefined> {
    for (;;) {
      const started = performance.now();
      const part = parts.next();
      this.#longestPauseMs = Math.max(this.#longestPauseMs, performance.now() - started);
      if (part.done === true) return;
      yield part.value;
    }
  }

  /**
   * Writes what is left and closes the log cleanly; gives up the directory. What the logs hold
   * beyond the snapshot goes into a new one first, so that the next start (a deploy, a restart)
   * reads a snapshot and replays nothing.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#compacting;
    if (this.#journal !== undefined && this.#unsnapshotted && this.#journal.failed === undefined) {
      try {
        this.compactNow();
      } catch (error) {
        this.#log('no snapshot at close (the logs stay): %s', (error as Error).message);
      }
    }
    this.#journal?.close();
    this.#lock.release();
  }

  stats(): PersistStats {
    const journal = this.#journal;
    return {
      dir: this.#settings.dir,
      fsync: this.#settings.fsync,
      generation: journal?.generation ?? 0,
      logBytes: this.#logBytes + (journal?.fileBytes ?? 0),
      records: journal?.records ?? 0,
      fsyncs: journal?.syncs ?? 0,
      compactions: this.#compactions,
      longestCompactionPauseMs: this.#longestPauseMs,
      failed: journal?.failed?.message,
    };
  }

  #snapshotRecord(generation: number, snapshot: ReplicaSnapshot): SnapshotRecord {
    const record: SnapshotRecord = { v: 1, id: this.#id!, generation, snapshot };
    if (this.#predecessors.length > 0) record.predecessors = [...this.#predecessors];
    if (this.#group !== undefined) record.group = this.#group;
    return record;
  }

  #header(): { v: 1; id: string; boot: string } {
    return { v: 1, id: this.#id!, boot: bootId() };
  }

  // A snapshot of generation `generation` written before returning (before the hub serves, or
  // before it shares a restamped write), and the logs before it dropped; the readings it took
  // end once it is encoded.
  #writeSnapshotSync(generation: number, record: SnapshotRecord, readings: SnapshotReadings): void {
    const dir = this.#settings.dir;
    let bytes: Buffer;
    try {
      bytes = encodeRecord(record);
    } finally {
      readings.end();
    }
    try {
      writeSnapshotFileSync(dir, bytes);
      removeLogsBefore(dir, generation);
    } catch (error) {
      throw ioError(`Cannot write the snapshot of ${dir}`, error);
    }
  }
}
