import { crc32 } from './crc32.js';

/**
 * The framing of everything collective writes to disk: a record is an 8-byte header, the
 * payload's length and its CRC-32 (both unsigned, big-endian), then the payload: JSON text, or
 * binary (a batch of ops: batch-format.ts), told apart by its first byte. A crash mid-write
 * leaves a record cut short, and a flipped byte a record whose checksum fails: reading stops at
 * the first such record, and everything before it is good.
 */
export const RECORD_HEADER_BYTES = 8;

/** The largest payload a record may hold: what a reader accepts before it allocates. */
export const MAX_RECORD_BYTES = 1024 * 1024 * 1024;

// A payload whose first byte is at most this one is binary: JSON text never starts with a
// control character (JSON.stringify writes none before the value, and whitespace is 0x09 and up).
const LAST_BINARY_FIRST_BYTE = 0x08;

/**
 * One record holding `payload`: as JSON, or a binary payload (its first byte at most 0x08, as
 * `readRecords` gives it back) as it is.
 */
export function encodeRecord(payload: unknown): Buffer {
  if (payload instanceof Uint8Array) {
    if (payload.length === 0 || payload[0]! > LAST_BINARY_FIRST_BYTE) throw new RangeError('a binary payload must start with its format byte (0x01-0x08)');
    const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
    record.set(payload, RECORD_HEADER_BYTES);
    return frameRecord(record, record.length);
  }
  const text = JSON.stringify(payload);
  // The text goes straight into the record's buffer: one copy, not two.
  const length = Buffer.byteLength(text, 'utf8');
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
  record.write(text, RECORD_HEADER_BYTES, 'utf8');
  return frameRecord(record, record.length);
}

/**
 * Frames the record whose payload fills `buffer` from RECORD_HEADER_BYTES to `end`: writes its
 * header (length and checksum) into the first bytes, and returns the record, a view of `buffer`.
 */
export function frameRecord(buffer: Buffer, end: number): Buffer {
  buffer.writeUInt32BE(end - RECORD_HEADER_BYTES, 0);
  buffer.writeUInt32BE(crc32(buffer, RECORD_HEADER_BYTES, end), 4);
  return buffer.subarray(0, end);
}

/** What reading a file of records found. */
export interface ReadRecords {
  /** The payloads of the good records, in order: JSON parsed, binary ones as their bytes (a view). */
  readonly records: unknown[];
  /** Where each good record ends (a byte offset): a reader that refuses one cuts there. */
  readonly ends: number[];
  /** Bytes from the start up to the end of the last good record. */
  readonly goodBytes: number;
  /** Why reading stopped before the end of what was written, if it did. */
  readonly problem?: string;
  /**
   * With a problem: whether the bad record is the last thing written (nothing but zeros, or
   * nothing, after the bytes its header claims): a write a crash cut short, rather than damage
   * with good records after it.
   */
  readonly tornTail?: boolean;
}

/**
 * Reads the records of `bytes`, up to the first one cut short or corrupt. A log is extended
 * with zeros ahead of its records (journal.ts): where only zeros are left, or nothing, what was
 * written ends, cleanly. No record is empty, so zeros never read as one.
 */
export function readRecords(bytes: Buffer): ReadRecords {
  const records: unknown[] = [];
  const ends: number[] = [];
  let at = 0;
  while (at < bytes.length && !zerosFrom(bytes, at)) {
    const problem = recordProblem(bytes, at);
    if (problem !== undefined) return { records, ends, goodBytes: at, problem: `${problem} at byte ${at}`, tornTail: tornAt(bytes, at) };
    const length = bytes.readUInt32BE(at);
    const start = at + RECORD_HEADER_BYTES;
    let payload: unknown;
    try {
      payload = bytes[start]! <= LAST_BINARY_FIRST_BYTE ? bytes.subarray(start, start + length) : JSON.parse(bytes.toString('utf8', start, start + length));
    } catch {
      // A good checksum over bad JSON: written so by something else.
      return { records, ends, goodBytes: at, problem: `a record that is not JSON at byte ${at}`, tornTail: false };
    }
    records.push(payload);
    at = start + length;
    ends.push(at);
  }
  return { records, ends, goodBytes: at };
}

// Whether `bytes` hold only zeros from `at` on: the space a log was extended by, unwritten. A
// record header (a length, then a checksum) is never all zeros, as no record is empty.
function zerosFrom(bytes: Buffer, at: number): boolean {
  if (bytes.length - at >= RECORD_HEADER_BYTES && bytes.readUInt32BE(at) !== 0) return false;
  for (let i = at; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

// Whether the bad record at `at` runs to the end of what was written: past its claimed end,
// nothing or only zeros (a write cut short, nothing after it).
function tornAt(bytes: Buffer, at: number): boolean {
  if (bytes.length - at < RECORD_HEADER_BYTES) return true;
  const claimedEnd = at + RECORD_HEADER_BYTES + bytes.readUInt32BE(at);
  return claimedEnd >= bytes.length || zerosFrom(bytes, claimedEnd);
}

// Why the record at `at` cannot be read, if it cannot.
function recordProblem(bytes: Buffer, at: number): string | undefined {
  if (bytes.length - at < RECORD_HEADER_BYTES) return 'a record header cut short';
  const length = bytes.readUInt32BE(at);
  if (length === 0) return 'an empty record followed by data';
  if (length > MAX_RECORD_BYTES) return `a record length of ${length} bytes, more than any record written`;
  const start = at + RECORD_HEADER_BYTES;
  if (bytes.length - start < length) return 'a record cut short';
  if (crc32(bytes, start, start + length) !== bytes.readUInt32BE(at + 4)) return 'a record whose checksum fails';
  return undefined;
}
