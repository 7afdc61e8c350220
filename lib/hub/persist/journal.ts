import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { encodeRuns } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import { PersistError } from '../../errors.js';
import { logName, ioError, syncDirectory, writeAll } from './directory.js';
import { encodeRecord, RecordEncoder } from './records.js';

/** When the log is fsynced: see `PersistOptions.fsync`. */
export type FsyncMode = 'always' | 'interval' | 'never';

/** The first record of every log: whose it is, and in which boot of the machine it was written. */
export interface LogHeader {
  v: 1;
  id: string;
  generation: number;
  boot: string;
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
  readonly #encoder = new RecordEncoder();
  #written = 0;
  #synced = 0;
  #syncing = false;
  // Waits for written bytes, in order of `upTo`.
  #waiters: Wait[] = [];
  // The wait for the ops not written yet: it gets its offset when this turn's record is written.
  #turnWait: Wait | undefined;
  // Files switched away from while an fsync of theirs was running: closed once it ends.
  #retired: number[] = [];
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
    this.#fd = this.#create(generation, header);
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
    if (this.#pending.length === 0) queueMicrotask(() => this.write());
    this.#pending.push(op);
  }

  /** Writes the ops taken so far as one record (the end of the turn does it by itself). */
  write(): void {
    const ops = this.#pending;
    if (ops.length === 0 || this.#failed !== undefined) return;
    this.#pending = [];
    this.#append(this.#encoder.encode({ o: encodeRuns(ops) }));
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
   * Continues in a new log, `generation` (a snapshot is about to cover the old one): the old one
   * is fsynced first, so whatever waits on it is durable.
   */
  switchTo(generation: number, header: Omit<LogHeader, 'generation'>): void {
    this.write();
    const old = this.#fd;
    try {
      fdatasyncSync(old);
      this.#synced = this.#written;
      this.#settle();
    } catch (error) {
      this.#fail(ioError('Cannot fsync the log', error));
    }
    // Everything before the new log is on disk now: its header's bytes count as synced too.
    this.#fd = this.#create(generation, header);
    this.#generation = generation;
    if (this.#syncing) this.#retired.push(old);
    else closeSync(old);
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
        fdatasyncSync(this.#fd);
        this.#synced = this.#written;
      } catch (error) {
        this.#fail(ioError('Cannot close the log', error));
      }
    }
    this.#settle();
    this.#rejectAll(this.#failed ?? new PersistError('ERR_COLLECTIVE_PERSIST_IO', 'The log was closed'));
    if (!this.#syncing) closeSync(this.#fd);
    else this.#retired.push(this.#fd);
  }

  #create(generation: number, header: Omit<LogHeader, 'generation'>): number {
    let fd: number;
    try {
      fd = openSync(join(this.#dir, logName(generation)), 'wx', 0o644);
    } catch (error) {
      throw ioError(`Cannot create log ${generation} in ${this.#dir}`, error);
    }
    const first = encodeRecord({ ...header, generation } satisfies LogHeader);
    writeAll(fd, first);
    fdatasyncSync(fd);
    syncDirectory(this.#dir);
    this.#written += first.length;
    this.#synced = this.#written;
    this.fileBytes = first.length;
    return fd;
  }

  #append(bytes: Buffer): void {
    try {
      writeAll(this.#fd, bytes);
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

  #sync(): void {
    if (this.#syncing || this.#failed !== undefined) return;
    this.#syncing = true;
    const upTo = this.#written;
    fdatasync(this.#fd, (error) => {
      this.#syncing = false;
      for (const retired of this.#retired.splice(0)) closeSync(retired);
      if (error !== null) {
        this.#fail(ioError('Cannot fsync the log', error));
        return;
      }
      this.syncs++;
      if (upTo > this.#synced) this.#synced = upTo;
      this.#settle();
      if (!this.#closed && this.#waiters.length > 0) this.#sync();
    });
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
