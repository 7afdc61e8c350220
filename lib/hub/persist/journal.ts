import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRuns } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import { PersistError } from '../../errors.js';
import { logName, ioError, syncDirectory, syncDirectoryAsync, writeAll } from './directory.js';
import { encodeBatchRecord, type PathIds } from './batch-encoder.js';
import { encodeRecord } from './records.js';

/** When the log is fsynced: see `PersistOptions.fsync`. */
export type FsyncMode = 'always' | 'interval' | 'never';

/** The first record of every log: whose it is, and in which boot of the machine it was written. */
export interface LogHeader {
  v: 1;
  id: string;
  generation: number;
  boot: string;
  /**
   * The bytes of log `generation - 1` when this one began (a compaction's switch): the older
   * log is fsynced after this one is created, so a crash of the machine may leave it shorter,
   * and this log then follows writes that are gone (recover() stops before it).
   */
  after?: number;
}

// A log switched away from (a compaction began a new one), still to be fsynced up to its end
// before anything written after it counts as on disk.
interface Retiring {
  readonly fd: number;
  // Where its bytes end, counted as `Journal.#written` counts.
  readonly end: number;
}

// A log grows ahead of its records by this many bytes of zeros at a time. Its records then
// overwrite blocks the file already has, and an fdatasync flushes them alone, where after an
// append it must also commit the file's new size: measured on this machine, 100 us for a 5 KB
// record written and fdatasync'ed instead of 160, and the write alone 4.3 us instead of 5.7.
// Reading stops where only zeros are left (records.ts).
const EXTEND_BYTES = 1024 * 1024;
let zeros: Buffer | undefined;

// Extends the file `fd`, of `size` bytes, with zeros to the next multiple of EXTEND_BYTES at or
// past `end` (at least `size`); returns its new size.
function extend(fd: number, size: number, end: number): number {
  const target = Math.ceil(end / EXTEND_BYTES) * EXTEND_BYTES;
  zeros ??= Buffer.alloc(EXTEND_BYTES);
  for (let at = size; at < target; at += EXTEND_BYTES) writeAll(fd, zeros.subarray(0, Math.min(EXTEND_BYTES, target - at)), at);
  return target;
}

// Everyone waiting for the bytes up to `upTo` to be fsynced: one promise for them all (a turn's
// durable writes, however many, share their record's), marked handled once, so that nobody's
// un-awaited durable write becomes an unhandled rejection.
interface Wait {
  upTo: number;
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function newWait(upTo: number): Wait {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  promise.catch(() => undefined);
  return { upTo, promise, resolve, reject };
}

/**
 * The log being appended to: the ops applied this turn go out as one record at the end of the
 * turn (before any of them is sent to a member or a peer, which happens on a later
 * setImmediate), so that a process killed at any point has written every op it ever shared.
 * fsync follows the mode; a durable write waits for an fsync that covers it (several share
 * one). Offsets count bytes across every log file this journal wrote, so that a wait survives
 * a switch to a new file.
 */
export class Journal {
  readonly #dir: string;
  readonly #mode: FsyncMode;
  readonly #log: (format: string, ...args: unknown[]) => void;
  readonly #onWritten: () => void;
  #fd: number;
  #generation: number;
  #pending: Op[] = [];
  // The numbers the current log gave its paths (see PATH_ID in batch-format.ts).
  #pathIds: PathIds = new Map();
  #written = 0;
  #synced = 0;
  #syncing = false;
  // Logs switched away from, oldest first, each fsynced (in order) before the next file.
  #retiring: Retiring[] = [];
  // The current log was created by a switch: the directory entry is fsynced before its bytes count.
  #directoryUnsynced = false;
  // The size of the current log's file: its records, then zeros (see extend()).
  #allocated = 0;
  // Waits for written bytes, in order of `upTo`.
  #waiters: Wait[] = [];
  // The wait for the ops not written yet: it gets its offset when this turn's record is written.
  #turnWait: Wait | undefined;
  // Logs whose fd is closed once the fsync running on it ends.
  #toClose: number[] = [];
  #failed: PersistError | undefined;
  #closed = false;
  readonly #timer: NodeJS.Timeout | undefined;
  /** Records written, fsyncs done, bytes of the current file: for stats. */
  records = 0;
  syncs = 0;
  fileBytes = 0;

  /** `onWritten` is called after each record of ops is written. */
  constructor(
    dir: string,
    generation: number,
    header: Omit<LogHeader, 'generation'>,
    { fsync: mode, intervalMs }: { fsync: FsyncMode; intervalMs: number },
    log: (format: string, ...args: unknown[]) => void,
    onWritten: () => void,
  ) {
    this.#dir = dir;
    this.#mode = mode;
    this.#log = log;
    this.#onWritten = onWritten;
    this.#generation = generation;
    this.#fd = this.#create({ ...header, generation });
    this.#synced = this.#written;
    if (mode === 'interval') {
      this.#timer = setInterval(() => {
        if (this.#written > this.#synced) this.#sync();
      }, intervalMs);
      this.#timer.unref();
    }
  }

  /** The generation of the log appended to. */
  get generation(): number {
    return this.#generation;
  }

  /** The error that stopped this journal, if one did. */
  get failed(): PersistError | undefined {
    return this.#failed;
  }

  /** Takes `op` for this turn's record. */
  record(op: Op): void {
    if (this.#closed || this.#failed !== undefined) return;
    if (this.#pending.length === 0) queueMicrotask(this.#endOfTurn);
    this.#pending.push(op);
  }

  readonly #endOfTurn = (): void => this.write();

  /** Writes the ops taken so far as one record (the end of the turn does it by itself). */
  write(): void {
    const ops = this.#pending;
    if (ops.length === 0 || this.#failed !== undefined) return;
    const record = this.#encode(ops);
    // Encoded: the array is used again for the next turn's ops (not one grown anew each turn).
    ops.length = 0;
    if (record !== undefined) this.#append(record);
    const wait = this.#turnWait;
    this.#turnWait = undefined;
    if (wait !== undefined) {
      if (this.#failed !== undefined) wait.reject(this.#failed);
      else {
        wait.upTo = this.#written;
        this.#waiters.push(wait);
      }
    }
    if (this.#mode === 'always' || this.#waiters.length > 0) this.#sync();
    this.#onWritten();
  }

  // The record of `ops`: binary, or JSON for a batch holding a value nested deeper than the
  // binary form takes (recover() reads either). Undefined, with the journal stopped, if neither
  // can hold it (a value too deep for JSON.stringify's own recursion).
  #encode(ops: Op[]): Buffer | undefined {
    try {
      return encodeBatchRecord(ops, this.#pathIds);
    } catch (binaryError) {
      this.#log('a batch of %d ops written as JSON: %s', ops.length, (binaryError as Error).message);
      try {
        return encodeRecord({ o: encodeRuns(ops) });
      } catch (error) {
        this.#fail(new PersistError('ERR_COLLECTIVE_PERSIST_IO', `Cannot encode a batch of ops for the log: ${(error as Error).message}`));
        return undefined;
      }
    }
  }

  /**
   * Writes `payload` (what the hub knows of its group, as JSON-able data) as a record of its
   * own, now: the latest such record is read back with the ops (see recover()). Rare: a record
   * each time a hub links, retires or learns where one lives.
   */
  recordGroup(payload: unknown): void {
    if (this.#closed || this.#failed !== undefined) return;
    this.write();
    this.#append(encodeRecord({ g: payload }));
    if (this.#mode === 'always') this.#sync();
  }

  /**
   * Resolves once everything recorded so far is on disk (fsynced): ops of this turn once its
   * record is written (at the end of the turn, one record for all) and an fsync covers it.
   */
  durable(): Promise<void> {
    if (this.#failed !== undefined) return newWaitRejected(this.#failed);
    if (this.#pending.length > 0) return (this.#turnWait ??= newWait(Number.POSITIVE_INFINITY)).promise;
    if (this.#synced >= this.#written) return Promise.resolve();
    const last = this.#waiters[this.#waiters.length - 1];
    if (last !== undefined && last.upTo === this.#written) return last.promise;
    const wait = newWait(this.#written);
    this.#waiters.push(wait);
    this.#sync();
    return wait.promise;
  }

  /**
   * Continues in a new log, `generation` (a snapshot is about to cover the old one). The old
   * log is fsynced off the event loop (in interval mode a second of writes: measured up to 18 ms
   * held when it was done here), and before anything of the new one counts as on disk, so that
   * a durable write never stands on bytes a crash of the machine could take.
   */
  switchTo(generation: number, header: Omit<LogHeader, 'generation'>): void {
    this.write();
    if (this.#failed !== undefined) return;
    const old = this.#fd;
    const after = this.fileBytes;
    let fd: number;
    try {
      fd = this.#create({ ...header, generation, after });
    } catch (error) {
      this.#fail(error as PersistError);
      return;
    }
    this.#retiring.push({ fd: old, end: this.#written - this.fileBytes });
    this.#fd = fd;
    this.#generation = generation;
    this.#pathIds = new Map();
    this.#directoryUnsynced = true;
    this.#sync();
  }

  /** Writes what is left, fsyncs, marks the log closed cleanly, and closes it. */
  close(): void {
    if (this.#closed) return;
    this.write();
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#failed === undefined) {
      try {
        this.#append(encodeRecord({ closed: true }));
        // Closed, the log grows no more: the zeros ahead of its records go.
        ftruncateSync(this.#fd, this.fileBytes);
        for (const retiring of this.#retiring) fdatasyncSync(retiring.fd);
        if (this.#directoryUnsynced) syncDirectory(this.#dir);
        fdatasyncSync(this.#fd);
        this.#synced = this.#written;
      } catch (error) {
        this.#fail(ioError('Cannot close the log', error));
      }
    }
    this.#settle();
    this.#rejectAll(this.#failed ?? new PersistError('ERR_COLLECTIVE_PERSIST_IO', 'The log was closed'));
    const fds = [...this.#retiring.map((retiring) => retiring.fd), this.#fd];
    this.#retiring = [];
    // An fsync still running holds its fd: the callback closes them.
    if (this.#syncing) this.#toClose.push(...fds);
    else for (const fd of fds) closeSync(fd);
  }

  // A new log file holding `header`, its first record, written (not fsynced: the start fsyncs
  // it at once, a switch with the log's next fsync).
  #create(header: LogHeader): number {
    let fd: number;
    try {
      fd = openSync(join(this.#dir, logName(header.generation)), 'wx', 0o644);
    } catch (error) {
      throw ioError(`Cannot create log ${header.generation} in ${this.#dir}`, error);
    }
    const first = encodeRecord(header);
    try {
      writeAll(fd, first, 0);
      this.#allocated = extend(fd, first.length, first.length);
      if (header.after === undefined) {
        fdatasyncSync(fd);
        syncDirectory(this.#dir);
      }
    } catch (error) {
      closeSync(fd);
      throw ioError(`Cannot write log ${header.generation} in ${this.#dir}`, error);
    }
    this.#written += first.length;
    this.fileBytes = first.length;
    return fd;
  }

  #append(bytes: Buffer): void {
    try {
      const end = this.fileBytes + bytes.length;
      if (end > this.#allocated) this.#allocated = extend(this.#fd, this.#allocated, end);
      writeAll(this.#fd, bytes, this.fileBytes);
    } catch (error) {
      // A record may be half written: nothing may follow it in this file, or a restart would
      // stop reading there and miss what came after.
      this.#fail(ioError('Cannot write the log', error));
      return;
    }
    this.#written += bytes.length;
    this.fileBytes += bytes.length;
    this.records++;
  }

  // fsyncs what is written, in order: logs switched away from first, then the directory entry
  // of a log a switch created, then the log appended to. One fsync at a time; what asked
  // meanwhile is covered by the next, which the end of this one starts when someone waits.
  #sync(): void {
    if (this.#syncing || this.#failed !== undefined) return;
    this.#syncing = true;
    const retiring = this.#retiring[0];
    if (retiring !== undefined) {
      fdatasync(retiring.fd, (error) => {
        // close() may have taken it over meanwhile (and closes it below).
        if (this.#retiring[0] === retiring) {
          this.#retiring.shift();
          this.#toClose.push(retiring.fd);
        }
        if (error === null) this.#synced = Math.max(this.#synced, retiring.end);
        this.#stepDone(error, 'Cannot fsync the log');
      });
      return;
    }
    if (this.#directoryUnsynced) {
      syncDirectoryAsync(this.#dir).then(
        () => {
          this.#directoryUnsynced = false;
          this.#stepDone(null, '');
        },
        (error: unknown) => this.#stepDone(error as Error, 'Cannot fsync the directory of the log'),
      );
      return;
    }
    const upTo = this.#written;
    fdatasync(this.#fd, (error) => {
      if (error === null) {
        this.syncs++;
        if (upTo > this.#synced) this.#synced = upTo;
      }
      this.#stepDone(error, 'Cannot fsync the log');
    });
  }

  // The end of one step of #sync: fds waiting for it closed, waiters settled, the next step
  // started while anyone waits, a switched-away log is still unsynced, or ('always') anything is.
  #stepDone(error: Error | null, what: string): void {
    this.#syncing = false;
    for (const fd of this.#toClose.splice(0)) closeSync(fd);
    if (error !== null) {
      this.#fail(ioError(what, error));
      return;
    }
    this.#settle();
    if (this.#closed) return;
    // In 'always' mode, batches written while this fsync ran are fsynced now, not with whatever
    // batch comes next: the last batch before the writes stop must not wait for another.
    if (this.#waiters.length > 0 || this.#retiring.length > 0 || this.#directoryUnsynced || (this.#mode === 'always' && this.#written > this.#synced)) this.#sync();
  }

  #settle(): void {
    let done = 0;
    while (done < this.#waiters.length && this.#waiters[done]!.upTo <= this.#synced) this.#waiters[done++]!.resolve();
    if (done > 0) this.#waiters.splice(0, done);
  }

  #fail(error: PersistError): void {
    if (this.#failed !== undefined) return;
    this.#failed = error;
    this.#log('persistence stopped: %s', error.message);
    this.#rejectAll(error);
  }

  #rejectAll(error: Error): void {
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters = [];
    this.#turnWait?.reject(error);
    this.#turnWait = undefined;
  }
}

function newWaitRejected(error: Error): Promise<void> {
  const wait = newWait(0);
  wait.reject(error);
  return wait.promise;
}
