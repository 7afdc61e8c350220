import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, tableCrc32 } from '../../../lib/hub/persist/crc32.js';
import { encodeRecord, readRecords, RECORD_HEADER_BYTES } from '../../../lib/hub/persist/records.js';

describe('records on disk', () => {
  it('computes the standard CRC-32 (the check value of "123456789")', () => {
    for (const checksum of [crc32, tableCrc32]) {
      expect(checksum(Buffer.from('123456789'))).toBe(0xcbf43926);
      expect(checksum(Buffer.alloc(0))).toBe(0);
    }
  });

  it('computes over any range what the plain bit-at-a-time definition computes (built-in and table loop alike)', () => {
    // The definition itself, one bit at a time: nothing shared with the table-driven code.
    const reference = (bytes: Uint8Array): number => {
      let crc = 0xffffffff;
      for (const byte of bytes) {
        crc ^= byte;
        for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
      }
      return (crc ^ 0xffffffff) >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = bytes.length === 0 ? 0 : a % bytes.length;
        const end = start + (b % (bytes.length - start + 1));
        const expected = reference(bytes.subarray(start, end));
        expect(crc32(bytes, start, end)).toBe(expected);
        expect(tableCrc32(bytes, start, end)).toBe(expected);
        // Continued from the CRC of what came before: the CRC of the whole.
        const whole = reference(bytes.subarray(0, end));
        expect(crc32(bytes, start, end, crc32(bytes, 0, start))).toBe(whole);
        expect(tableCrc32(bytes, start, end, tableCrc32(bytes, 0, start))).toBe(whole);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back every record written, in order', () => {
    const bytes = Buffer.concat([encodeRecord({ a: 1 }), encodeRecord(['x', 'ü']), encodeRecord(null)]);
    const read = readRecords(bytes);
    expect(read.records).toEqual([{ a: 1 }, ['x', 'ü'], null]);
    expect(read.problem).toBeUndefined();
    expect(read.goodBytes).toBe(bytes.length);
    expect(read.ends[read.ends.length - 1]).toBe(bytes.length);
  });

  it('stops at a record cut short, at every possible cut, keeping what came before', () => {
    const first = encodeRecord({ keep: true });
    const second = encodeRecord({ cut: 'somewhere in here' });
    const whole = Buffer.concat([first, second]);
    for (let length = first.length; length < whole.length; length++) {
      const read = readRecords(whole.subarray(0, length));
      expect(read.records).toEqual([{ keep: true }]);
      expect(read.goodBytes).toBe(first.length);
      // Cut inside the length's leading zero bytes, what is left reads as unwritten space.
      const onlyZeros = whole.subarray(first.length, length).every((byte) => byte === 0);
      expect(read.problem === undefined).toBe(onlyZeros);
    }
  });

  it('stops at a flipped byte anywhere in a record (header or payload)', () => {
    const first = encodeRecord({ keep: true });
    const second = encodeRecord({ value: 'x'.repeat(40) });
    const third = encodeRecord({ after: 1 });
    for (let at = first.length; at < first.length + second.length; at++) {
      const bytes = Buffer.concat([first, second, third]);
      bytes[at]! ^= 0x10;
      const read = readRecords(bytes);
      expect(read.records, `byte ${at}`).toEqual([{ keep: true }]);
      expect(read.problem, `byte ${at}`).toBeDefined();
    }
  });

  it('reads zeros after the records as the end of what was written (a log is extended with zeros ahead of its records)', () => {
    const records = Buffer.concat([encodeRecord({ a: 1 }), encodeRecord({ b: 2 })]);
    for (const padding of [1, 7, 8, 4096]) {
      const read = readRecords(Buffer.concat([records, Buffer.alloc(padding)]));
      expect(read.records).toEqual([{ a: 1 }, { b: 2 }]);
      expect(read.problem).toBeUndefined();
      expect(read.goodBytes).toBe(records.length);
    }
    expect(readRecords(Buffer.alloc(4096))).toEqual({ records: [], ends: [], goodBytes: 0 });
  });

  it('tells a record cut short before zeros (a torn tail) from damage with data after it', () => {
    const first = encodeRecord({ keep: true });
    const second = encodeRecord({ cut: 'somewhere in here' });
    const third = encodeRecord({ after: 1 });
    for (let length = 1; length < second.length; length++) {
      // The write of `second` stopped after `length` bytes; the file was extended with zeros.
      const read = readRecords(Buffer.concat([first, second.subarray(0, length), Buffer.alloc(1024)]));
      expect(read.records).toEqual([{ keep: true }]);
      expect(read.goodBytes).toBe(first.length);
      // A cut inside the length's leading zero bytes leaves nothing but zeros: the clean end.
      if (read.problem !== undefined) expect(read.tornTail, `cut at ${length}`).toBe(true);
    }
    const hole = readRecords(Buffer.concat([first, Buffer.alloc(64), second]));
    expect(hole.problem).toMatch(/empty record followed by data/);
    expect(hole.tornTail).toBe(false);
    const flipped = Buffer.concat([second, third, Buffer.alloc(64)]);
    flipped[RECORD_HEADER_BYTES + 3]! ^= 0x01;
    const damaged = readRecords(Buffer.concat([first, flipped]));
    expect(damaged.problem).toMatch(/checksum/);
    expect(damaged.tornTail).toBe(false);
  });

  it('refuses a length beyond any record before allocating for it', () => {
    const bytes = Buffer.alloc(16);
    bytes.writeUInt32BE(0xffffffff, 0);
    const read = readRecords(bytes);
    expect(read.records).toEqual([]);
    expect(read.problem).toMatch(/more than any record/);
  });

  it('gives back a binary payload (first byte 0x01-0x08) as its bytes, and refuses to frame one without its format byte', () => {
    const binary = Uint8Array.from([0x01, 0x7b, 0x00, 0xff]);
    const bytes = Buffer.concat([encodeRecord({ a: 1 }), encodeRecord(binary), encodeRecord(['after'])]);
    const read = readRecords(bytes);
    expect(read.problem).toBeUndefined();
    expect(read.records[0]).toEqual({ a: 1 });
    expect(Buffer.from(read.records[1] as Uint8Array).equals(binary)).toBe(true);
    expect(read.records[2]).toEqual(['after']);
    expect(() => encodeRecord(Uint8Array.from([0x7b]))).toThrow(RangeError);
    expect(() => encodeRecord(new Uint8Array(0))).toThrow(RangeError);
  });
});
