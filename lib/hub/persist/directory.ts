import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PersistError } from '../../errors.js';
import { crc32 } from './crc32.js';
import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES } from './records.js';

/**
 * The files of a `persist.dir`:
 * - `snapshot`: one record, the whole state as of the start of log `generation`;
 * - `log-<generation>`: the op batches applied since, one log per start of the hub or
 *   compaction, replayed in order on top of the snapshot;
 * - `LOCK` (lock.ts). Nothing else is read; a `snapshot.tmp` is a snapshot a crash cut short.
 */
export const SNAPSHOT_FILE = 'snapshot';
const SNAPSHOT_TEMP = 'snapshot.tmp';
const LOG_NAME = /^log-(\d{10})$/;

/** The file name of log `generation`. */
export function logName(generation: number): string {
  return `log-${String(generation).padStart(10, '0')}`;
}

/** Creates `dir` if missing; a path that is not a usable directory is ERR_COLLECTIVE_PERSIST_IO. */
export function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    readdirSync(dir);
  } catch (error) {
    throw ioError(`Cannot use ${dir} as persist.dir`, error);
  }
}

/** The generations of the logs in `dir`, in order. */
export function logGenerations(dir: string): number[] {
  const generations: number[] = [];
  for (const name of readdirSync(dir)) {
    const match = LOG_NAME.exec(name);
    if (match !== null) generations.push(Number(match[1]));
  }
  return generations.sort((a, b) => a - b);
}

/** The bytes of `dir`'s snapshot, or undefined when it has none. */
export function readSnapshotFile(dir: string): Buffer | undefined {
  try {
    return readFileSync(join(dir, SNAPSHOT_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(`Cannot read the snapshot of ${dir}`, error);
  }
}

/**
 * Replaces `dir`'s snapshot with a record whose payload (JSON text) comes in `parts`, so that a
 * crash at any point leaves the old snapshot or the new one whole: written to a temporary name,
 * fsynced, renamed over, and the directory fsynced (the rename itself is only durable then).
 * Each part is written as it comes: the text is encoded a part per turn of the event loop, and
 * the whole never exists at once. The record's header (length and CRC-32, computed on the way)
 * is written last, over the room kept for it.
 */
export async function writeSnapshotFileInParts(dir: string, parts: Iterator<string>): Promise<void> {
  const temp = join(dir, SNAPSHOT_TEMP);
  const file = await open(temp, 'w', 0o644);
  try {
    let length = 0;
    let checksum = 0;
    for (let part = parts.next(); part.done !== true; part = parts.next()) {
      const bytes = Buffer.from(part.value, 'utf8');
      checksum = crc32(bytes, 0, bytes.length, checksum);
      await writeAllAt(file, bytes, RECORD_HEADER_BYTES + length);
      length += bytes.length;
      if (length > MAX_RECORD_BYTES) throw new RangeError(`a snapshot of more than ${MAX_RECORD_BYTES} bytes`);
    }
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32BE(length, 0);
    header.writeUInt32BE(checksum, 4);
    await writeAllAt(file, header, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, join(dir, SNAPSHOT_FILE));
  await syncDirectoryAsync(dir);
}

async function writeAllAt(file: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += (await file.write(bytes, at, bytes.length - at, position + at)).bytesWritten;
}

/**
 * Writes all of `bytes` at `position`, or at `fd`'s position without one (a write may take
 * less than it was given).
 */
export function writeAll(fd: number, bytes: Buffer, position?: number): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at, position === undefined ? null : position + at);
}

/**
 * A snapshot of `bytes` (a whole record) written as `writeSnapshotFileInParts` writes one, before
 * returning (the hub waits: a new id, a restamp, a close).
 */
export function writeSnapshotFileSync(dir: string, bytes: Buffer): void {
  const temp = join(dir, SNAPSHOT_TEMP);
  const fd = openSync(temp, 'w', 0o644);
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, SNAPSHOT_FILE));
  syncDirectory(dir);
}

// Some file systems cannot fsync a directory (EISDIR, EINVAL, EPERM): nothing more can be done
// there, and the error is not one.
function cannotSyncDirectories(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EISDIR' || code === 'EINVAL' || code === 'EPERM';
}

/** Makes the entries of `dir` (files created, renamed, removed) durable. */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    if (!cannotSyncDirectories(error)) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * `syncDirectory` off the event loop: a directory's fsync commits the file system's journal,
 * which waits for whatever else is being written (measured: several ms next to a busy log).
 */
export async function syncDirectoryAsync(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!cannotSyncDirectories(error)) throw error;
  } finally {
    await handle?.close();
  }
}

/** Removes the logs before `generation` (a snapshot covers them now). */
export function removeLogsBefore(dir: string, generation: number): void {
  for (const older of logGenerations(dir)) if (older < generation) unlinkSync(join(dir, logName(older)));
  syncDirectory(dir);
}

/**
 * `removeLogsBefore` off the event loop (a compaction's): removing a log of many megabytes
 * frees its blocks, measured at about 5 ms for 16 MiB.
 */
export async function removeLogsBeforeAsync(dir: string, generation: number): Promise<void> {
  for (const older of logGenerations(dir)) if (older < generation) await unlink(join(dir, logName(older)));
  await syncDirectoryAsync(dir);
}

/** ERR_COLLECTIVE_PERSIST_IO with the cause's message. */
export function ioError(what: string, cause: unknown): PersistError {
  return new PersistError('ERR_COLLECTIVE_PERSIST_IO', `${what}: ${(cause as Error).message}`, { cause });
}
