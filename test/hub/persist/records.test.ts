import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../lib/hub/persist/crc32.js';
import { encodeRecord, readRecords } from '../../../lib/hub/persist/records.js';

describe('records on disk', () => {
  it('computes the standard CRC-32 (the check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
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
      expect(read.problem === undefined).toBe(length === first.length);
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

  it('refuses a length beyond any record before allocating for it', () => {
    const bytes = Buffer.alloc(16);
    bytes.writeUInt32BE(0xffffffff, 0);
    const read = readRecords(bytes);
    expect(read.records).toEqual([]);
    expect(read.problem).toMatch(/more than any record/);
  });
});
