import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { RUN_MOST_OPS, RUN_REPEAT, encodeRun } from '../../lib/core/codec.js';
import type { Op } from '../../lib/core/op.js';
import { MAX_ENTRY_OPS, decodeAnnouncement, decodeEntry, encodeAnnouncement, entryFields, seqOfEntryId } from '../../lib/wire/redis.js';
import { RunBytes, entryRuns } from '../../lib/wire/run-bytes.js';

const origin = 'aaaaaaaaaaaa' as NodeId;
const limits = { maxDepth: 32, maxValueBytes: 1024, maxEntryBytes: 4096 };

// An entry's fields as Redis gives them back (text), for `ops`.
function fieldsOf(from: number, ops: readonly Op[], lastStamp?: Op['stamp']): string[] {
  return entryFields(from, entryRuns([new RunBytes().write(ops)]), lastStamp).map(String);
}

function op(seq: number, path: string[] = ['k'], value: unknown = seq): Op {
  return { kind: 'set', path, value: value as never, seq, stamp: { wall: 1_000 + seq, count: 0, node: origin } };
}

describe('Redis stream entries', () => {
  it('round-trips an entry of contiguous ops, and one rebuilt with the stamp of its last seq', () => {
    const ops = [op(4), op(5), op(6)];
    const whole = decodeEntry(origin, '6-0', fieldsOf(3, ops), limits);
    expect(whole).toMatchObject({ from: 3, upTo: 6, stamp: ops[2]!.stamp });
    expect(whole.ops.map((o) => [o.seq, o.value])).toEqual([[4, 4], [5, 5], [6, 6]]);
    // Ops 5 and 7 overwritten since: the entry covers 4 to 8 and says when 8 was stamped.
    const stamp = { wall: 2_000, count: 3, node: origin };
    const rebuilt = decodeEntry(origin, '8-0', fieldsOf(3, [op(4), op(6)], stamp), limits);
    expect(rebuilt).toMatchObject({ from: 3, upTo: 8, stamp });
    expect(rebuilt.ops.map((o) => o.seq)).toEqual([4, 6]);
  });

  it.each([
    ['an id of another format', '1764480000000-5', ['v', '1', 'f', '0', 'o', '[]', 's', '1,0'], /id this format never writes/],
    ['an unknown field', '2-0', ['v', '1', 'f', '0', 'o', '[]', 'x', '1'], /fields other than/],
    ['a duplicated field', '2-0', ['v', '1', 'v', '1', 'o', '[]'], /fields other than/],
    ['another format version', '2-0', ['v', '2', 'f', '0', 'o', '[]', 's', '1,0'], /not of format 1/],
    ['a first seq not before the last', '2-0', ['v', '1', 'f', '2', 'o', '[]', 's', '1,0'], /first seq is not before/],
    ['ops that are not JSON', '2-0', ['v', '1', 'f', '0', 'o', '{', 's', '1,0'], /not JSON/],
    ['ops over the size limit', '2-0', ['v', '1', 'f', '0', 'o', JSON.stringify(['x'.repeat(5000)]), 's', '1,0'], /over the limit/],
    ['ops of another origin', '1-0', ['v', '1', 'f', '0', 'o', JSON.stringify([[ 'bbbbbbbbbbbb', 1, 1000, [['k']], 0, 0, 1, 0, 0 ]])], /ops of bbbbbbbbbbbb/],
    ['a __proto__ path', '1-0', ['v', '1', 'f', '0', 'o', JSON.stringify([[origin, 1, 1000, [['__proto__']], 0, 0, 1, 0, 0]])], /__proto__/],
    ['ops outside the range', '1-0', ['v', '1', 'f', '0', 'o', JSON.stringify([encodeRun([op(2)])])], /not increasing seqs/],
    ['seqs missing without the stamp of the last', '3-0', ['v', '1', 'f', '0', 'o', JSON.stringify([encodeRun([op(1)])])], /without every op/],
    ['a malformed stamp', '3-0', ['v', '1', 'f', '0', 'o', '[]', 's', 'soon'], /malformed stamp/],
    ['ops stamped after the last', '3-0', ['v', '1', 'f', '0', 'o', JSON.stringify([encodeRun([op(1)])]), 's', '1,0'], /stamped after its last/],
  ])('refuses %s', (_what, id, fields, reason) => {
    expect(() => decodeEntry(origin, id, fields, limits)).toThrow(reason);
  });

  it('refuses an entry whose repeats hold more than MAX_ENTRY_OPS ops, and reads one that holds that many', () => {
    // Runs of RUN_MOST_OPS increments each, one repeat record apiece: a few bytes a thousand ops.
    const runs = (count: number) => Array.from({ length: count }, (_, i) => [origin, i * RUN_MOST_OPS + 1, 1_000 + i, [['n']], 2, 0, 1, 0, 0, RUN_REPEAT, RUN_MOST_OPS - 1, 0, 0, 0]);
    const entry = (count: number): [string, string[]] => [`${count * RUN_MOST_OPS}-0`, ['v', '1', 'f', '0', 'o', JSON.stringify(runs(count))]];
    const roomy = { ...limits, maxEntryBytes: 1 << 20 };
    const most = MAX_ENTRY_OPS / RUN_MOST_OPS;
    expect(decodeEntry(origin, ...entry(most), roomy).ops).toHaveLength(MAX_ENTRY_OPS);
    expect(() => decodeEntry(origin, ...entry(most + 1), roomy)).toThrow(/more than 100000 ops/);
  });

  it('reads sequence numbers only from the ids it writes', () => {
    expect(seqOfEntryId('42-0')).toBe(42);
    expect(seqOfEntryId('42-1')).toBeUndefined();
    expect(seqOfEntryId('1234567890123456-0')).toBeUndefined();
  });
});

describe('Redis announcements', () => {
  const message = { vector: { [origin]: { seq: 3, stamp: { wall: 5, count: 0, node: origin } } }, clock: { wall: 9, count: 1, node: origin }, members: [origin], retired: [] };

  it('round-trips what a hub says of itself', () => {
    const text = encodeAnnouncement({ id: origin, incarnation: 'abc', at: 123, name: 'web-1', left: true, message });
    const back = decodeAnnouncement(origin, text, 10_000);
    expect(back).toMatchObject({ id: origin, incarnation: 'abc', at: 123, name: 'web-1', left: true });
    expect(back.message.vector[origin]?.seq).toBe(3);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['not an object', '[1]', /not an object/],
    ['another format', JSON.stringify({ v: 2 }), /format/],
    ['under another id', JSON.stringify({ v: 1, id: 'bbbbbbbbbbbb', i: 'x', at: 1, p: {} }), /under/],
    ['without a time', JSON.stringify({ v: 1, id: origin, i: 'x', at: 'soon', p: {} }), /without a time/],
    ['with a bad frontier', JSON.stringify({ v: 1, id: origin, i: 'x', at: 1, p: { v: 'no' } }), /vector/],
    ['over the size limit', 'x'.repeat(200), /over the limit/],
  ])('refuses one %s', (_what, text, reason) => {
    expect(() => decodeAnnouncement(origin, text, 100)).toThrow(reason);
  });
});
