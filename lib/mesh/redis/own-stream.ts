import type { NodeId } from '../../core/clock.js';
import { encodeRun, encodeRuns, type DecodeLimits } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import type { Replica } from '../../core/replica.js';
import type { Logger } from '../../log.js';
import { decodeEntry, entryFields, entryId, seqOfEntryId } from '../../wire/redis.js';
import type { GroupStore } from './store.js';

// Most ops per stream entry: an entry is read whole, and a reader's XREAD takes many at once.
const OPS_PER_ENTRY = 10_000;

/**
 * A hub's own stream in its group: the ops it stamps, appended at the end of each turn as one
 * entry (never one per op). It keeps its ops in order until every member of the group has read
 * them (`seenByAll`), up to `maxQueuedOps`: so that when Redis loses the tail of the stream (a
 * restart with `appendfsync everysec`) or cannot be reached for a while, it appends them again
 * from where the stream stands. Ops it no longer keeps come from the replica (those not
 * overwritten since) in one rebuilt entry.
 */
export class OwnStream {
  readonly #replica: Replica;
  readonly #store: GroupStore;
  readonly #key: string;
  readonly #log: Logger;
  readonly #maxQueuedOps: number;
  readonly #limits: DecodeLimits & { maxEntryBytes: number };
  // Own ops kept, in seq order; #kept[0] is op #keptFrom.
  #kept: Op[] = [];
  #keptFrom = 1;
  // The highest seq the stream holds, as far as this hub knows; undefined until checked.
  #appended: number | undefined;
  #appending = false;
  #scheduled = false;
  #closed = false;
  /** Entries appended, ops dropped from memory past the bound (rebuilt from the replica if needed), append failures. */
  entries = 0;
  rebuilt = 0;
  failures = 0;

  constructor(replica: Replica, store: GroupStore, key: string, settings: { maxQueuedOps: number; limits: DecodeLimits & { maxEntryBytes: number } }, log: Logger) {
    this.#replica = replica;
    this.#store = store;
    this.#key = key;
    this.#maxQueuedOps = settings.maxQueuedOps;
    this.#limits = settings.limits;
    this.#log = log;
  }

  get #id(): NodeId {
    return this.#replica.id;
  }

  get #ownSeq(): number {
    return this.#replica.vector()[this.#id]?.seq ?? 0;
  }

  /** The highest seq known to be in the stream (undefined until checked after connecting). */
  get appended(): number | undefined {
    return this.#appended;
  }

  /** Own ops not yet known to be in the stream. */
  get queued(): number {
    return Math.max(0, this.#ownSeq - (this.#appended ?? 0));
  }

  /** Takes an op this hub stamped; it goes out at the end of the turn. */
  record(op: Op): void {
    if (op.stamp.node !== this.#id || op.seq < this.#keptFrom + this.#kept.length) return;
    if (this.#kept.length === 0) this.#keptFrom = op.seq;
    this.#kept.push(op);
    if (this.#kept.length > this.#maxQueuedOps) {
      // Past the bound: the oldest go (the replica still holds those not overwritten).
      const drop = this.#kept.length - this.#maxQueuedOps;
      this.#kept.splice(0, drop);
      this.#keptFrom += drop;
    }
    this.schedule();
  }

  /** Every member has read up to `seq`: ops up to it need not be kept for a second append. */
  seenByAll(seq: number): void {
    const upTo = Math.min(seq, this.#appended ?? 0);
    const drop = Math.min(this.#kept.length, upTo - this.#keptFrom + 1);
    if (drop <= 0) return;
    this.#kept.splice(0, drop);
    this.#keptFrom += drop;
  }

  /** Appends what is pending at the end of this turn. */
  schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.flush();
    });
  }

  /**
   * Connected (first, or again): checks where the stream stands. Above this hub's own seq are
   * its ops from a life before whose disk lost them (they come back here); below what it
   * appended, Redis lost the tail (it is appended again).
   */
  async resume(): Promise<void> {
    const top = await this.#store.top(this.#key);
    let stands = top === undefined ? 0 : (seqOfEntryId(top) ?? 0);
    if (stands > this.#ownSeq) stands = await this.#takeBack(stands);
    if (this.#appended !== undefined && stands < this.#appended) this.#log('the stream of %s stands at %d, not %d: Redis lost its tail; appending it again', this.#id, stands, this.#appended);
    this.#appended = stands;
    await this.flush();
  }

  // Reads back the entries above the own seq (written by this hub before a restart whose disk
  // had not kept them): returns where the stream stands after those it could take.
  async #takeBack(top: number): Promise<number> {
    let after = this.#ownSeq;
    let taken = 0;
    for (;;) {
      const entries = await this.#store.range(this.#key, entryId(after), 1000);
      if (entries.length === 0) break;
      for (const raw of entries) {
        const entry = decodeEntry(this.#id, raw.id, raw.fields, this.#limits);
        if (entry.from > this.#ownSeq) {
          this.#log('own stream has a gap at %d: keeping %d', entry.from, this.#ownSeq);
          return this.#ownSeq;
        }
        const receiver = this.#replica.receiveDelta(entry.stamp);
        receiver.apply(entry.ops);
        receiver.end({ [this.#id]: { seq: entry.upTo, stamp: entry.stamp } });
        taken += entry.ops.length;
        after = entry.upTo;
      }
    }
    if (taken > 0) this.#log('took back %d own ops from the stream, up to %d', taken, after);
    return after;
  }

  /** Appends every own op the stream lacks, one entry after another (one in flight at a time). */
  async flush(): Promise<void> {
    if (this.#appending || this.#closed || this.#appended === undefined || !this.#store.ready) return;
    const own = this.#ownSeq;
    if (own <= this.#appended) return;
    this.#appending = true;
    try {
      while (this.#appended !== undefined && this.#appended < this.#ownSeq && !this.#closed) {
        const from = this.#appended;
        const [upTo, fields] = this.#next(from);
        if (!(await this.#store.append(this.#key, entryId(upTo), fields))) {
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
      this.#log('could not append to the stream: %s (again once connected)', (error as Error).message);
      // Where the stream stands is checked again before the next append (resume()).
      this.#appended = undefined;
    } finally {
      this.#appending = false;
    }
  }

  // The next entry after `from`: the ops kept, or (when some after `from` are no longer kept)
  // one entry rebuilt from the replica up to the latest own op: the ops not overwritten since.
  #next(from: number): [number, string[]] {
    if (from + 1 >= this.#keptFrom && from + 1 < this.#keptFrom + this.#kept.length) {
      const start = from + 1 - this.#keptFrom;
      const ops = this.#kept.slice(start, start + OPS_PER_ENTRY);
      const last = ops[ops.length - 1]!;
      return [last.seq, entryFields(from, { ...last.stamp, seq: last.seq }, [encodeRun(ops)], true)];
    }
    const latest = this.#replica.vector()[this.#id]!;
    const ask: Record<string, { seq: number }> = {};
    for (const [origin, entry] of Object.entries(this.#replica.vector())) ask[origin] = { seq: entry.seq };
    ask[this.#id] = { seq: from };
    const delta = this.#replica.delta(ask);
    // Behind the fold (a snapshot): every member has the folded ops already.
    const ops = delta.kind === 'ops' ? delta.ops.filter((op) => op.stamp.node === this.#id) : [];
    ops.sort((a, b) => a.seq - b.seq);
    this.rebuilt++;
    this.#log('rebuilt the entry of own ops %d to %d from the replica (%d not overwritten)', from + 1, latest.seq, ops.length);
    return [latest.seq, entryFields(from, { ...latest.stamp, seq: latest.seq }, encodeRuns(ops), ops.length === latest.seq - from)];
  }

  /** Appends what is left (if connected), then stops. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
