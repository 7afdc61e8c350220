import type { NodeId, Stamp } from '../../core/clock.js';
import type { DecodeLimits } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import type { Replica } from '../../core/replica.js';
import type { Logger } from '../../log.js';
import type { MeshClock } from '../clock.js';
import { decodeEntry, entryFields, entryId, seqOfEntryId, type EntryFields } from '../../wire/redis.js';
import { RunBytes, entryRuns } from '../../wire/run-bytes.js';
import type { GroupStore } from './store.js';

/**
 * Most ops per stream entry unless told otherwise: an entry is read whole, and an XREAD takes
 * many. Readers refuse an entry of more than MAX_ENTRY_OPS (wire/redis.ts).
 */
export const OPS_PER_ENTRY = 10_000;

/**
 * The least time between the starts of two appends of a busy hub. An append goes once the last
 * one is done and at least this long after it began (the clock reads whole ms: 1 to 2 ms): at a
 * few million writes a second an entry then holds a millisecond or two of them, and readers take
 * several in one XREAD. A quiet hub's write waits for nothing: its last append began long
 * before. Measured on 2 cores, a pair of hubs through Redis writing one counter, in alternation:
 * 2.64-3.15M writes/s (55-99 XADDs and 10-73 XREADs a burst of 300k) against 1.84-2.44M
 * appending as soon as the last append was done (188 and 130). Spaced by exactly 1 ms (a finer
 * clock) a pair read 2.6-2.9M, by 2 ms 1.7-2.7M, by 5 ms 1.5M.
 */
export const APPEND_SPACING_MS = 1;

/** Own ops from seq `from` + 1 to `upTo`. */
interface SeqSpan {
  readonly from: number;
  readonly upTo: number;
}

/** An entry this hub appended (or is appending): the seqs it covers and its fields. */
interface SentEntry extends SeqSpan {
  readonly fields: EntryFields;
}

/** Own ops encoded at the end of the turn that stamped them: their runs' JSON text (RunBytes). */
interface Piece extends SeqSpan {
  readonly runs: Buffer;
}

/**
 * A hub's own stream in its group: the ops it stamps, appended at the end of each turn as one
 * entry (never one per op); while it writes without pause, an append begins at least
 * APPEND_SPACING_MS after the last and takes every turn since. It keeps its ops in order until every member of the group has read
 * them (`seenByAll`), up to `maxQueuedOps`: so that when Redis loses the tail of the stream (a
 * restart with `appendfsync everysec`) or cannot be reached for a while, it appends them again
 * from where the stream stands. Ops it no longer keeps come from the replica (those not
 * overwritten since) in one rebuilt entry.
 *
 * Ops are kept as objects only until the end of the turn that stamped them, then as the bytes
 * of their runs' JSON: a piece per turn (RunBytes), which the next entry joins, and once
 * appended the entry's fields.
 * An object per op kept until every member read it (a quarter of a second and more), or only
 * while an append was in flight (a few turns of a busy hub), outlived the young generation and
 * cost the garbage collector more than the rest of a write. Redis loses whole entries, so what
 * it lost starts at an entry's start, and the entry is appended again as it was.
 */
export class OwnStream {
  readonly #replica: Replica;
  readonly #store: GroupStore;
  readonly #key: string;
  readonly #log: Logger;
  readonly #clock: Pick<MeshClock, 'now' | 'after' | 'defer'>;
  readonly #maxQueuedOps: number;
  readonly #opsPerEntry: number;
  readonly #appendSpacingMs: number;
  // When the last append began (the clock's ms), or -Infinity.
  #lastAppendAt = Number.NEGATIVE_INFINITY;
  readonly #limits: DecodeLimits & { maxEntryBytes: number };
  // Entries appended (or being appended) that some member may not have read, in seq order.
  #sent: SentEntry[] = [];
  #sentOps = 0;
  // Own ops not yet in an entry, in seq order: those of past turns encoded (pieces), then this
  // turn's as they are (staged, consecutive seqs).
  #pieces: Piece[] = [];
  #piecesOps = 0;
  #staged: Op[] = [];
  // The highest own seq taken (staged, or later): an op at or below it is not taken again.
  #takenUpTo = 0;
  // Entries being rebuilt from the replica: the seq the next follows, the ops not yet sent, and
  // where the last ends.
  #rebuild: { from: number; ops: Op[]; at: number; latest: Stamp & { seq: number } } | undefined;
  // The highest seq the stream holds, as far as this hub knows; undefined until checked.
  #appended: number | undefined;
  // Whether an append loop is under way (flush), and when the last one ends.
  #appending = false;
  #appendingEnds: Promise<void> = Promise.resolve();
  // Closing: what is pending goes without waiting for APPEND_SPACING_MS; `#wake` ends a wait.
  #closing = false;
  #wake: (() => void) | undefined;
  #shared = false;
  // Bumped on each reconnection: an append that completes across one says nothing of where the
  // stream stands now.
  #epoch = 0;
  #scheduled = false;
  #closed = false;
  readonly #runBytes = new RunBytes();
  /** Entries appended, entries rebuilt from the replica (their ops no longer kept), append failures. */
  entries = 0;
  rebuilt = 0;
  failures = 0;
  /** Entries in this hub's stream that it did not write, removed. */
  refused = 0;

  /**
   * `clock` times the appends (`now`, `after`) and runs a callback once the work of this turn is
   * done (`defer`). `appendSpacingMs`: see APPEND_SPACING_MS.
   */
  constructor(
    replica: Replica,
    store: GroupStore,
    key: string,
    settings: { maxQueuedOps: number; opsPerEntry?: number; appendSpacingMs?: number; limits: DecodeLimits & { maxEntryBytes: number } },
    clock: Pick<MeshClock, 'now' | 'after' | 'defer'>,
    log: Logger,
  ) {
    this.#clock = clock;
    this.#appendSpacingMs = settings.appendSpacingMs ?? APPEND_SPACING_MS;
    this.#replica = replica;
    this.#store = store;
    this.#key = key;
    this.#maxQueuedOps = settings.maxQueuedOps;
    this.#opsPerEntry = settings.opsPerEntry ?? OPS_PER_ENTRY;
    this.#limits = settings.limits;
    this.#log = log;
  }

  get #id(): NodeId {
    return this.#replica.id;
  }

  get #ownSeq(): number {
    return this.#replica.seqOf(this.#id);
  }

  /** The highest seq known to be in the stream (undefined until checked after connecting). */
  get appended(): number | undefined {
    return this.#appended;
  }

  /** Own ops not yet known to be in the stream. */
  get queued(): number {
    return Math.max(0, this.#ownSeq - (this.#appended ?? 0));
  }

  /** Whether any own op has left for Redis (an append was sent): it can no longer be restamped. */
  get shared(): boolean {
    return this.#shared;
  }

  /** The replica restamped its own ops (none shared yet): the ops kept are stale, rebuilt from it. */
  restamped(): void {
    this.#sent = [];
    this.#sentOps = 0;
    this.#pieces = [];
    this.#piecesOps = 0;
    this.#staged = [];
    this.#takenUpTo = 0;
    this.#rebuild = undefined;
  }

  /** Takes an op this hub stamped; it goes out at the end of the turn (or once the spacing allows). */
  record(op: Op): void {
    if (op.stamp.node !== this.#id || op.seq <= this.#takenUpTo) return;
    this.#takenUpTo = op.seq;
    this.#staged.push(op);
    if (this.keptOps > this.#maxQueuedOps) this.#overBound();
    this.schedule();
  }

  // Encodes this turn's ops as pieces of at most opsPerEntry ops, so that they die young.
  #seal(): void {
    const staged = this.#staged;
    if (staged.length === 0) return;
    for (let start = 0; start < staged.length; start += this.#opsPerEntry) {
      const ops = staged.length <= this.#opsPerEntry ? staged : staged.slice(start, start + this.#opsPerEntry);
      this.#pieces.push({ from: ops[0]!.seq - 1, upTo: ops[ops.length - 1]!.seq, runs: this.#runBytes.write(ops) });
    }
    this.#piecesOps += staged.length;
    this.#staged = [];
  }

  // Past the bound: the oldest quarter goes at once (the replica still holds those not
  // overwritten), entries appended first, then whole pieces, so that a long outage does not
  // shift the whole array on every write.
  #overBound(): void {
    let drop = this.keptOps - Math.floor((this.#maxQueuedOps * 3) / 4);
    while (drop > 0 && this.#sent.length > 0) {
      const ops = opsIn(this.#sent.shift()!);
      this.#sentOps -= ops;
      drop -= ops;
    }
    while (drop > 0 && this.#pieces.length > 0) {
      const ops = opsIn(this.#pieces.shift()!);
      this.#piecesOps -= ops;
      drop -= ops;
    }
    if (drop > 0) this.#staged.splice(0, drop);
  }

  /** Every member has read up to `seq`: ops up to it need not be kept for a second append. */
  seenByAll(seq: number): void {
    const upTo = Math.min(seq, this.#appended ?? 0);
    this.#sentOps -= dropThrough(this.#sent, upTo);
    this.#piecesOps -= dropThrough(this.#pieces, upTo);
    const staged = this.#staged;
    if (this.#pieces.length === 0 && staged.length > 0 && staged[0]!.seq <= upTo) staged.splice(0, upTo - staged[0]!.seq + 1);
  }

  /**
   * The connection came back: Redis may have restarted and lost the tail of the stream, so
   * where it stands is checked again (resume) before anything more is appended.
   */
  reconnected(): void {
    this.#appended = undefined;
    this.#rebuild = undefined;
    this.#epoch++;
  }

  /** Appends what is pending at the end of this turn. */
  schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    this.#clock.defer(() => {
      this.#scheduled = false;
      this.#seal();
      void this.flush();
    });
  }

  /**
   * Connected (first, or again): checks where the stream stands. Above this hub's own seq are
   * its ops from a life before whose disk lost them (they come back here), or entries a
   * stranger wrote (removed, with a reason: they would block this hub's appends); below what it
   * appended, Redis lost the tail (it is appended again).
   */
  async resume(): Promise<void> {
    const stands = await this.#takeBack();
    if (this.#appended !== undefined && stands < this.#appended) this.#log('the stream of %s stands at %d, not %d: Redis lost its tail; appending it again', this.#id, stands, this.#appended);
    this.#appended = stands;
    await this.flush();
  }

  // Reads the entries above the own seq: takes back this hub's own, removes anything else.
  // Returns where the stream stands then.
  async #takeBack(): Promise<number> {
    let after = this.#ownSeq;
    let taken = 0;
    let removed = 0;
    let cursor = entryId(after);
    for (;;) {
      const entries = await this.#store.range(this.#key, cursor, 1000);
      if (entries.length === 0) break;
      for (const raw of entries) {
        cursor = raw.id;
        let entry;
        try {
          entry = decodeEntry(this.#id, raw.id, raw.fields, this.#limits);
          if (entry.from > after) throw new TypeError(`an entry after ${entry.from}, past ${after}`);
        } catch (error) {
          this.refused++;
          removed++;
          this.#log('removed entry %s from the stream of %s: %s', raw.id, this.#id, (error as Error).message);
          await this.#store.remove(this.#key, raw.id);
          continue;
        }
        const receiver = this.#replica.receiveDelta(entry.stamp);
        receiver.apply(entry.ops);
        receiver.end({ [this.#id]: { seq: entry.upTo, stamp: entry.stamp } });
        taken += entry.ops.length;
        after = entry.upTo;
      }
    }
    if (removed > 0) await this.#store.settle(this.#key);
    if (taken > 0) this.#log('took back %d own ops from the stream, up to %d', taken, after);
    // The last id added, not the top entry: entries every member read may be trimmed away.
    const last = await this.#store.lastId(this.#key);
    return last === undefined ? 0 : Math.min(seqOfEntryId(last) ?? 0, after);
  }

  /**
   * Appends every own op the stream lacks, one entry after another (one in flight at a time).
   * While an append loop is under way it returns at once: that loop goes on while ops are
   * pending.
   */
  async flush(): Promise<void> {
    if (this.#appending || this.#closed || this.#appended === undefined || !this.#store.ready) return;
    const own = this.#ownSeq;
    if (own <= this.#appended) return;
    this.#appending = true;
    let ended!: () => void;
    this.#appendingEnds = new Promise((resolve) => (ended = resolve));
    const epoch = this.#epoch;
    try {
      while (this.#appended !== undefined && this.#appended < this.#ownSeq && !this.#closed) {
        // The clock reads whole milliseconds: a reading `spacing + 1` past the last one's is
        // at least `spacing` later.
        const spacing = this.#closing ? 0 : this.#appendSpacingMs;
        const wait = spacing === 0 ? 0 : this.#lastAppendAt + spacing + 1 - this.#clock.now();
        if (wait > 0) {
          // Meanwhile this turn's ops and the next ones join the entry.
          let cancel: (() => void) | undefined;
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
            cancel = this.#clock.after(wait, resolve);
          });
          cancel?.();
          this.#wake = undefined;
          if (epoch !== this.#epoch || this.#appended === undefined) break;
        }
        this.#lastAppendAt = this.#clock.now();
        const from = this.#appended;
        const [upTo, fields] = this.#next(from);
        this.#shared = true;
        const added = await this.#store.append(this.#key, entryId(upTo), fields);
        if (epoch !== this.#epoch) break;
        if (!added) {
          // Something this hub did not write sits at or past upTo: where the stream stands is
          // checked again (resume) before anything more is appended.
          this.failures++;
          this.#log('the stream of %s holds an entry at or past %d that this hub did not write', this.#id, upTo);
          this.#appended = undefined;
          break;
        }
        this.#appended = upTo;
        this.entries++;
      }
    } catch (error) {
      this.failures++;
      this.#log('could not append to the stream: %s (again once connected)', (error as Error).message || (error as Error).name);
      // Where the stream stands is checked again before the next append (resume()).
      this.#appended = undefined;
    } finally {
      // In the turn the loop ends: a flush called after it starts another.
      this.#appending = false;
      ended();
    }
  }

  // The next entry after `from`: the pieces kept from there (as many as fit in `opsPerEntry`),
  // or (when no piece starts there: some are no longer kept, or a rebuild ended within one)
  // entries rebuilt from the replica up to the latest own op: the ops not overwritten since, at
  // most `opsPerEntry` an entry (each but the last ends at an op it holds, whose stamp it has).
  #next(from: number): [number, EntryFields] {
    // Appended before (Redis lost it since): as it was.
    const sent = this.#sent.find((entry) => entry.from === from);
    if (sent !== undefined) return [sent.upTo, sent.fields];
    this.#seal();
    const pieces = this.#pieces;
    const first = pieces.findIndex((piece) => piece.from === from);
    if (first !== -1) {
      let end = first + 1;
      let ops = opsIn(pieces[first]!);
      while (end < pieces.length && pieces[end]!.from === pieces[end - 1]!.upTo && ops + opsIn(pieces[end]!) <= this.#opsPerEntry) ops += opsIn(pieces[end++]!);
      const runs = entryRuns(pieces.slice(first, end).map((piece) => piece.runs));
      const entry = { from, upTo: pieces[end - 1]!.upTo, fields: entryFields(from, runs) };
      // From now on the entry stands for its ops (and any before it, appended already).
      for (const piece of pieces.splice(0, end)) this.#piecesOps -= opsIn(piece);
      // Entries past `from` (cut otherwise before) no longer are what the stream will hold.
      while (this.#sent.length > 0 && this.#sent[this.#sent.length - 1]!.upTo > from) this.#sentOps -= opsIn(this.#sent.pop()!);
      this.#sent.push(entry);
      this.#sentOps += opsIn(entry);
      return [entry.upTo, entry.fields];
    }
    let rebuild = this.#rebuild;
    if (rebuild === undefined || rebuild.from !== from) {
      const latest = this.#replica.vector()[this.#id]!;
      // Folded ops are held by every member (GC waited for them all); a newcomer takes them from
      // the snapshot.
      const { from: after, ops } = this.#replica.ownOpsAfter(from);
      this.#rebuild = rebuild = { from: after, ops, at: 0, latest: { ...latest.stamp, seq: latest.seq } };
      this.rebuilt++;
      this.#log('rebuilt the entries of own ops %d to %d from the replica (%d not overwritten)', after + 1, latest.seq, ops.length);
    }
    const ops = rebuild.ops.slice(rebuild.at, rebuild.at + this.#opsPerEntry);
    const final = rebuild.at + ops.length >= rebuild.ops.length;
    const upTo = final ? rebuild.latest : { ...ops[ops.length - 1]!.stamp, seq: ops[ops.length - 1]!.seq };
    const complete = ops.length === upTo.seq - rebuild.from;
    const fields = entryFields(rebuild.from, entryRuns([this.#runBytes.write(ops)]), complete ? undefined : upTo);
    if (final) this.#rebuild = undefined;
    else {
      rebuild.at += ops.length;
      rebuild.from = upTo.seq;
    }
    return [upTo.seq, fields];
  }

  /** Own ops kept for a second append (in entries and not yet in one). */
  get keptOps(): number {
    return this.#sentOps + this.#piecesOps + this.#staged.length;
  }

  /**
   * Appends what is left (if connected), then stops: the append loop under way, if any, ends
   * with what is pending (without spacing its appends), then one more pass takes what came after.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    await this.#appendingEnds;
    await this.flush();
    this.#closed = true;
  }
}

// How many ops an entry or piece holds: every seq from + 1 to upTo.
function opsIn(span: SeqSpan): number {
  return span.upTo - span.from;
}

// Drops the first `spans` (in seq order) that end at or before `upTo`; returns how many ops
// they held.
function dropThrough(spans: SeqSpan[], upTo: number): number {
  let count = 0;
  let ops = 0;
  for (; count < spans.length && spans[count]!.upTo <= upTo; count++) ops += opsIn(spans[count]!);
  if (count > 0) spans.splice(0, count);
  return ops;
}
