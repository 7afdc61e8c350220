import * as zlib from 'node:zlib';

// CRC-32 (IEEE 802.3, the polynomial of zip and PNG): a record's checksum must catch a torn
// write or a flipped bit, which any 32-bit CRC does for a run of bits up to 32 long. Node has
// it built in from 20.15 and 22.2 (zlib.crc32), measured at 4 times the speed of the table
// loop below; older Node 20 releases, which the package supports, take the loop.
const builtIn = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

// The loop: slicing by 8 bytes. Eight tables let it take two words at a time: measured at
// about 1.8 times the speed of four tables and six times that of a byte-at-a-time loop, which
// matters because every batch of writes is checksummed on the event loop.
const TABLES = (() => {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[0]![n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) tables[t]![n] = tables[0]![tables[t - 1]![n]! & 0xff]! ^ (tables[t - 1]![n]! >>> 8);
  }
  return tables as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];
})();

/**
 * The CRC-32 of `bytes[start, end)`, as an unsigned 32-bit integer; with `previous`, the CRC-32
 * of the bytes that gave `previous` followed by these (a record checksummed as it is written).
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  return builtIn !== undefined ? builtIn(bytes.subarray(start, end), previous) : tableCrc32(bytes, start, end, previous);
}

/** `crc32` by the table loop, whatever Node offers (exported for its tests). */
export function tableCrc32(bytes: Uint8Array, start = 0, end = bytes.length, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let crc = previous ^ -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const word = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      t7[word & 0xff]! ^
      t6[(word >>> 8) & 0xff]! ^
      t5[(word >>> 16) & 0xff]! ^
      t4[word >>> 24]! ^
      t3[bytes[i + 4]!]! ^
      t2[bytes[i + 5]!]! ^
      t1[bytes[i + 6]!]! ^
      t0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = t0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
