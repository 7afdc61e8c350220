import { openSync, ftruncateSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeId } from '../../core/clock.js';
import { decodeNodeId, decodeRun, isRecord, type DecodeLimits } from '../../core/codec.js';
import type { Op } from '../../core/op.js';
import type { ReplicaSnapshot } from '../../core/replica-types.js';
import { PersistError } from '../../errors.js';
import { bootId } from './boot.js';
import { ioError, logGenerations, logName, readSnapshotFile, SNAPSHOT_FILE } from './directory.js';
import { decodeBatchRecord } from './batch-decoder.js';
import { readRecords } from './records.js';

/** The one record of a snapshot file. */
export interface SnapshotRecord {
  v: 1;
  id: string;
  generation: number;
  snapshot: ReplicaSnapshot;
  /** The ids the state was kept under before `id` (oldest first, at most MAX_PREDECESSORS). */
  predecessors?: string[];
  /** What the hub knew of its group (opaque here: the hub reads it, as untrusted). */
  group?: unknown;
}

/** How many earlier ids of a directory its snapshot remembers. */
export const MAX_PREDECESSORS = 1000;

/** What a `persist.dir` held, read back. */
export interface Recovered {
  /** The id the directory was written under, if it held anything. */
  readonly previousId: NodeId | undefined;
  /** The ids it was written under before that one (see SnapshotRecord.predecessors). */
  readonly predecessors: NodeId[];
  /**
   * What the hub last knew of its group (the latest `g` record of the logs, else the
   * snapshot's), unread: the hub decodes it as untrusted.
   */
  readonly group: unknown;
  /** Why the hub takes a new id although the directory held state. */
  readonly newIdBecause: string | undefined;
  readonly snapshot: ReplicaSnapshot | undefined;
  /** The ops of the logs, in the order they were applied. */
  readonly ops: Op[];
  /** Bytes of the logs read (what a compaction would fold into a snapshot). */
  readonly logBytes: number;
  /** The generation for the log this start writes. */
  readonly nextGeneration: number;
  /** What was cut or skipped, for the log. */
  readonly notes: string[];
}

/**
 * Reads `dir` back. A corrupt snapshot is refused (ERR_COLLECTIVE_PERSIST_CORRUPT): nothing is
 * loaded from it, ever half. A log is read up to its first bad record and cut there. The id is
 * kept unless something the hub may have shared could be lost: a log not closed cleanly in an
 * earlier boot of the machine (its unsynced tail died with the machine), or a bad record with
 * good ones after it (not a write cut short by a crash). Reusing the id then would reuse the
 * sequence numbers of ops peers hold, and they would drop the new ops as duplicates.
 */
export function recover(dir: string, decodeLimits: DecodeLimits): Recovered {
  // What is read here is fresh from JSON.parse and this reader's alone: adopted, not copied.
  const limits: DecodeLimits = { ...decodeLimits, adopt: true };
  const notes: string[] = [];
  const snapshotRecord = readSnapshot(dir);
  let id = snapshotRecord?.id;
  const generations = logGenerations(dir).filter((generation) => snapshotRecord === undefined || generation >= snapshotRecord.generation);
  const ops: Op[] = [];
  let lostShared: string | undefined;
  // The logs after a snapshot of generation S are S, S+1, ... with no hole (without a snapshot,
  // from the first): one missing held ops that may have been shared (a partial backup, a file
  // removed by hand). What is there is read all the same.
  const first = snapshotRecord?.generation ?? generations[0];
  const missing = first === undefined ? undefined : generations.findIndex((generation, index) => generation !== first + index);
  if (missing !== undefined && missing !== -1) {
    lostShared = `log ${first! + missing} is missing`;
    notes.push(`${lostShared}: the logs after it are read all the same`);
  }
  let lastClean = true;
  let lastBoot: string | undefined;
  let logBytes = 0;
  let group = snapshotRecord?.group;
  // The log read last, and how much of it was good: a log a compaction began says how long
  // its predecessor was then (`after`), and one that is longer than what survived follows lost
  // writes (see LogHeader.after).
  let previous: { generation: number; goodBytes: number } | undefined;
  for (const generation of generations) {
    const file = readLog(dir, generation, limits);
    const after = file.header?.after;
    if (after !== undefined && previous?.generation === generation - 1 && previous.goodBytes < after) {
      lostShared = `log ${generation} follows ${after} bytes of log ${generation - 1}, which holds ${previous.goodBytes}`;
      notes.push(`${lostShared}: log ${generation} and the logs after it are skipped (they follow writes a crash took)`);
      break;
    }
    previous = { generation, goodBytes: file.goodBytes };
    logBytes += file.goodBytes;
    if (file.header === undefined) {
      notes.push(`log ${generation} has no readable header: skipped`);
      continue;
    }
    if (id !== undefined && file.header.id !== id) {
      notes.push(`log ${generation} belongs to hub ${file.header.id}, not ${id}: skipped`);
      continue;
    }
    id ??= file.header.id;
    for (const batch of file.batches) for (const op of batch) ops.push(op);
    if (file.group !== undefined) group = file.group;
    if (file.problem !== undefined) {
      notes.push(`log ${generation}: ${file.problem}; cut after its last good record (byte ${file.goodBytes})`);
      truncate(join(dir, logName(generation)), file.goodBytes);
      if (!file.tornTail) lostShared = `log ${generation} had ${file.problem}, with records after it`;
    } else if (file.fileBytes > file.goodBytes) {
      // The zeros it was extended by, unwritten: nothing appends to an old log again.
      truncate(join(dir, logName(generation)), file.goodBytes);
    }
    lastClean = file.closed;
    lastBoot = file.header.boot;
  }
  if (lostShared === undefined && !lastClean && lastBoot !== undefined && lastBoot !== bootId()) {
    lostShared = 'the last log was not closed cleanly before the machine restarted (its unsynced tail may be lost)';
  }
  const nextGeneration = Math.max(snapshotRecord?.generation ?? 0, ...generations) + 1;
  return {
    previousId: id as NodeId | undefined,
    predecessors: (snapshotRecord?.predecessors ?? []) as NodeId[],
    group,
    newIdBecause: lostShared,
    snapshot: snapshotRecord?.snapshot,
    ops,
    logBytes,
    nextGeneration,
    notes,
  };
}

function corrupt(dir: string, why: string): PersistError {
  return new PersistError(
    'ERR_COLLECTIVE_PERSIST_CORRUPT',
    `The snapshot of ${dir} cannot be used: ${why}. Restore the directory from a backup, or move it away to start this hub empty (under a new id)`,
  );
}

function readSnapshot(dir: string): SnapshotRecord | undefined {
  const bytes = readSnapshotFile(dir);
  if (bytes === undefined) return undefined;
  const read = readRecords(bytes);
  if (read.problem !== undefined) throw corrupt(dir, `${SNAPSHOT_FILE} has ${read.problem}`);
  if (read.records.length !== 1) throw corrupt(dir, `${SNAPSHOT_FILE} holds ${read.records.length} records, not one`);
  const record = read.records[0] as Partial<SnapshotRecord> | null;
  if (typeof record !== 'object' || record === null || record.v !== 1) throw corrupt(dir, 'it is not a collective snapshot of a known version');
  try {
    decodeNodeId(record.id);
  } catch {
    throw corrupt(dir, 'its node id is malformed');
  }
  if (!Number.isSafeInteger(record.generation) || record.generation! < 1) throw corrupt(dir, 'its generation is malformed');
  if (typeof record.snapshot !== 'object' || record.snapshot === null) throw corrupt(dir, 'it holds no state');
  if (record.predecessors !== undefined) {
    if (!Array.isArray(record.predecessors) || record.predecessors.length > MAX_PREDECESSORS) throw corrupt(dir, 'its list of earlier ids is malformed');
    try {
      for (const id of record.predecessors) decodeNodeId(id);
    } catch {
      throw corrupt(dir, 'its list of earlier ids is malformed');
    }
  }
  return record as SnapshotRecord;
}

interface LogFile {
  header: { id: string; boot: string; after: number | undefined } | undefined;
  batches: Op[][];
  // The last group record (see Journal.recordGroup).
  group: unknown;
  closed: boolean;
  goodBytes: number;
  // The size of the file (its records, and perhaps zeros after them).
  fileBytes: number;
  problem: string | undefined;
  // The bad record runs to the end of the file: a write cut short, nothing after it.
  tornTail: boolean;
}

function readLog(dir: string, generation: number, limits: DecodeLimits): LogFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(dir, logName(generation)));
  } catch (error) {
    throw ioError(`Cannot read log ${generation} of ${dir}`, error);
  }
  const read = readRecords(bytes);
  const file: LogFile = { header: undefined, batches: [], group: undefined, closed: false, goodBytes: read.goodBytes, fileBytes: bytes.length, problem: read.problem, tornTail: read.problem === undefined || read.tornTail === true };
  const [first, ...rest] = read.records;
  if (!isRecord(first) || first.v !== 1 || first.generation !== generation || typeof first.id !== 'string' || typeof first.boot !== 'string' || (first.after !== undefined && !isByteCount(first.after))) {
    return { ...file, goodBytes: 0, problem: file.problem ?? 'no header', tornTail: bytes.length === 0 };
  }
  file.header = { id: first.id, boot: first.boot, after: first.after as number | undefined };
  // The paths this log numbered so far (see PATH_ID in batch-format.ts).
  const paths: string[][] = [];
  for (let index = 0; index < rest.length; index++) {
    const record: unknown = rest[index];
    if (isRecord(record) && record.closed === true) {
      file.closed = true;
      continue;
    }
    if (isRecord(record) && record.g !== undefined) {
      file.group = record.g;
      continue;
    }
    try {
      let batch: Op[];
      if (record instanceof Uint8Array) batch = decodeBatchRecord(record, limits, paths);
      else {
        // A batch as JSON: what logs of earlier versions hold, and a batch too deep for the binary form.
        if (!isRecord(record) || !Array.isArray(record.o)) throw new TypeError('not a batch');
        batch = [];
        for (const run of record.o) for (const op of decodeRun(run, limits)) batch.push(op);
      }
      file.batches.push(batch);
      file.closed = false;
    } catch (error) {
      // A good checksum over something that is not a batch: not written by collective.
      return { ...file, goodBytes: read.ends[index]!, problem: `a record that is not a batch of ops (${(error as Error).message})`, tornTail: false };
    }
  }
  return file;
}

function isByteCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function truncate(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
  } finally {
    closeSync(fd);
  }
}
