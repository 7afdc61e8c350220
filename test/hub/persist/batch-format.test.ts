import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId, Stamp } from '../../../lib/core/clock.js';
import { decodeRun, encodeRuns, type DecodeLimits } from '../../../lib/core/codec.js';
import type { Op } from '../../../lib/core/op.js';
import { decodeBatchRecord } from '../../../lib/hub/persist/batch-decoder.js';
import { encodeBatchRecord, type PathIds } from '../../../lib/hub/persist/batch-encoder.js';
import { BATCH_FORMAT, MAX_PATH_IDS, PATH_ID, STAMP_NEXT } from '../../../lib/hub/persist/batch-format.js';
import { Journal } from '../../../lib/hub/persist/journal.js';
import { readRecords } from '../../../lib/hub/persist/records.js';
import { recover } from '../../../lib/hub/persist/recover.js';

const limits: DecodeLimits = { maxDepth: 32, maxValueBytes: 1024 * 1024 };
const A = 'hubA0001' as NodeId;
const B = 'hubB0002' as NodeId;

const stamp = (wall: number, count: number, node: NodeId): Stamp => ({ wall, count, node });

// What the JSON form of the same ops reads back as: the binary form must read back the same.
function viaJson(ops: readonly Op[]): Op[] {
  return JSON.parse(JSON.stringify(encodeRuns(ops))).flatMap((run: unknown) => decodeRun(run, { ...limits, adopt: true }));
}

// The payload of the record the encoder makes of `ops` (by default the first of its log): a
// copy, out of the encoder's buffer.
function payloadOf(ops: readonly Op[], ids: PathIds = new Map()): Buffer {
  const record = encodeBatchRecord(ops, ids);
  const read = readRecords(record);
  expect(read.problem).toBeUndefined();
  return Buffer.from(read.records[0] as Uint8Array);
}

// A record read back as the first of its log, by default.
function decodeBatch(bytes: Uint8Array, decodeLimits: DecodeLimits, paths: string[][] = []): Op[] {
  return decodeBatchRecord(bytes, decodeLimits, paths);
}

const path = Object.freeze(['users', 'u1']) as readonly string[];
const everyKind: Op[] = [
  { kind: 'set', path, value: { user: 1, seen: 7, big: 2_147_483_647, mid: 300, tags: ['a', 'ü', '𝄞', 'lone \ud800'], nested: { deep: [null, true, false] } }, seq: 1, stamp: stamp(1_764_600_000_000, 0, A) },
  { kind: 'set', path, value: -42, seq: 2, stamp: stamp(1_764_600_000_000, 1, A) },
  { kind: 'incr', path: ['counters', 'hits'], value: 0.25, seq: 3, stamp: stamp(1_764_600_000_003, 0, A) },
  { kind: 'append', path: ['log'], value: 'line', seq: 4, stamp: stamp(1_764_600_000_003, 1, A) },
  { kind: 'delete', path, seq: 5, stamp: stamp(1_764_600_000_004, 0, A) },
  { kind: 'ttl', path: ['session'], value: null, seq: 6, stamp: stamp(1_764_600_000_004, 1, A) },
  { kind: 'ttl', path: ['session'], value: 1_764_600_060_000, seq: 7, stamp: stamp(1_764_600_000_005, 0, A) },
  { kind: 'set', path: ['session'], value: 'x', expireAt: 1_764_600_090_000, seq: 8, stamp: stamp(1_764_600_000_005, 1, A) },
  { kind: 'incr', path: ['counters', 'hits'], value: 3, expireAt: 1_764_600_090_000, seq: 9, stamp: stamp(1_764_600_000_006, 0, A) },
  { kind: 'set', path: ['session'], value: Number.MAX_SAFE_INTEGER, keepTtl: true, seq: 10, stamp: stamp(1_764_600_000_006, 1, A) },
  // Another origin, then a gap in A's seqs: three runs.
  { kind: 'set', path: ['from', 'b'], value: 1e300, seq: 40, stamp: stamp(1_764_600_000_001, 0, B) },
  { kind: 'set', path: ['é', '𝄞'], value: -1.5, seq: 12, stamp: stamp(1_764_600_000_007, 0, A) },
];

describe('the binary batch record of the journal', () => {
  it('reads back every kind of op, with expiries, keepTtl, several origins and any string, as the JSON form does', () => {
    const payload = payloadOf(everyKind);
    expect(payload[0]).toBe(BATCH_FORMAT);
    const decoded = decodeBatch(payload, limits);
    expect(decoded).toEqual(viaJson(everyKind));
    expect(decoded.map((op) => op.seq)).toEqual(everyKind.map((op) => op.seq));
    expect((decoded[0]!.value as { tags: string[] }).tags[3]).toBe('lone \ud800');
    expect(Object.isFrozen(decoded[0]!.value)).toBe(true);
  });

  it('reads back any batch of ops as the JSON form does (property)', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.maxSafeInteger(),
        fc.string({ unit: 'binary' }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ unit: 'grapheme' }).filter((key) => !['__proto__', 'constructor', 'prototype'].includes(key)), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const segment = fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).filter((key) => !['__proto__', 'constructor', 'prototype'].includes(key));
    const anOp = fc.record({
      kind: fc.constantFrom('set', 'delete', 'incr', 'append'),
      path: fc.array(segment, { minLength: 1, maxLength: 4 }),
      value: json,
      number: fc.double({ noNaN: true, noDefaultInfinity: true }),
      expireAt: fc.option(fc.integer({ min: 0, max: 10_000_000_000_000 }), { nil: undefined }),
      wallStep: fc.nat(5),
      node: fc.constantFrom(A, B),
      gap: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(anOp, { minLength: 1, maxLength: 30 }), (drafts) => {
        const seqs = new Map<string, number>();
        let wall = 1_764_600_000_000;
        const ops: Op[] = drafts.map((draft, i) => {
          const seq = (seqs.get(draft.node) ?? 0) + (draft.gap ? 2 : 1);
          seqs.set(draft.node, seq);
          wall += draft.wallStep;
          const value = draft.kind === 'incr' ? draft.number : draft.kind === 'delete' ? undefined : (draft.value as Op['value']);
          const expireAt = draft.kind === 'delete' ? undefined : draft.expireAt;
          return { kind: draft.kind as Op['kind'], path: Object.freeze([...draft.path]), seq, stamp: stamp(wall, i, draft.node), ...(value === undefined ? {} : { value }), ...(expireAt === undefined ? {} : { expireAt }) };
        });
        // Encoded as up to three records of one log, read back in order.
        const ids: PathIds = new Map();
        const paths: string[][] = [];
        const cuts = [0, Math.floor(ops.length / 3), Math.floor((2 * ops.length) / 3), ops.length].filter((cut, i, all) => i === 0 || cut > all[i - 1]!);
        const read: Op[] = [];
        for (let i = 1; i < cuts.length; i++) read.push(...decodeBatch(payloadOf(ops.slice(cuts[i - 1], cuts[i]), ids), limits, paths));
        expect(read).toEqual(viaJson(ops));
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });

  it('writes an object by its own keys where Object.prototype was polluted with an enumerable one', () => {
    const op: Op = { kind: 'set', path, value: Object.freeze({ own: 1 }), seq: 1, stamp: stamp(1, 0, A) };
    (Object.prototype as Record<string, unknown>).polluted = 'yes';
    let payload: Buffer;
    try {
      payload = payloadOf([op]);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    expect(decodeBatch(payload, limits)[0]!.value).toEqual({ own: 1 });
  });

  it('refuses a value nested deeper than it takes, at encoding (the journal writes JSON instead), numbering none of its paths', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1001; i++) deep = [deep];
    const ids: PathIds = new Map();
    const other = Object.freeze(['other']) as readonly string[];
    expect(() => encodeBatchRecord([{ kind: 'set', path: other, value: 1, seq: 1, stamp: stamp(1, 0, A) }, { kind: 'set', path, value: deep as Op['value'], seq: 2, stamp: stamp(1, 1, A) }], ids)).toThrow(RangeError);
    expect(ids.size).toBe(0);
    // The next record of the log writes those paths out, as a reader that never saw the failed one expects.
    const next: Op[] = [{ kind: 'set', path: other, value: 2, seq: 3, stamp: stamp(2, 0, A) }];
    expect(decodeBatch(payloadOf(next, ids), limits)).toEqual(viaJson(next));
  });

  it('numbers paths per log: a later record names a path by its number, and reads only after the record that numbered it', () => {
    const ids: PathIds = new Map();
    const first: Op[] = [{ kind: 'set', path, value: 1, seq: 1, stamp: stamp(1, 0, A) }];
    const second: Op[] = [{ kind: 'incr', path, value: 2, seq: 2, stamp: stamp(2, 0, A) }];
    const one = payloadOf(first, ids);
    const two = payloadOf(second, ids);
    // Its op's head (after the format byte, the op count, and the run's origin, seq, wall and
    // 3-byte op count): an incr (code 2), the run's next stamp, its path by number (0 follows).
    const headAt = 1 + 1 + (1 + A.length) + 1 + 1 + 3;
    expect([two[headAt], two[headAt + 1]]).toEqual([PATH_ID | STAMP_NEXT | 2, 0]);
    expect(() => decodeBatch(two, limits)).toThrow(/path number 0 of 0/);
    const paths: string[][] = [];
    expect([...decodeBatch(one, limits, paths), ...decodeBatch(two, limits, paths)]).toEqual(viaJson([...first, ...second]));
  });

  it('numbers at most MAX_PATH_IDS paths a log, and writes the others out', () => {
    const ids: PathIds = new Map();
    const paths: string[][] = [];
    const many: Op[] = Array.from({ length: MAX_PATH_IDS + 1 }, (_, i) => ({ kind: 'set', path: Object.freeze(['k', `p${i}`]), value: i, seq: i + 1, stamp: stamp(1, i, A) }));
    const again: Op[] = [many[MAX_PATH_IDS]!, many[0]!].map((op, i) => ({ ...op, seq: MAX_PATH_IDS + 2 + i, stamp: stamp(2, i, A) }));
    const read = [...decodeBatch(payloadOf(many, ids), limits, paths), ...decodeBatch(payloadOf(again, ids), limits, paths)];
    expect(ids.size).toBe(MAX_PATH_IDS);
    expect(paths).toHaveLength(MAX_PATH_IDS);
    expect(read).toEqual(viaJson([...many, ...again]));
  });

  it('throws at every cut of a payload, never reading part of a batch as a batch', () => {
    const payload = payloadOf(everyKind);
    for (let length = 0; length < payload.length; length++) {
      expect(() => decodeBatch(payload.subarray(0, length), limits), `cut at ${length}`).toThrow();
    }
  });

  it('refuses what no encoder writes: __proto__ and other keys, twice the same key, unknown codes and tags, paths out of order, counts past the record, a bad node id', () => {
    const head = [BATCH_FORMAT, 1, ...stringBytes(A), 1, 1, 1];
    // A set of `k` (head: code 0, its stamp the run's next), its value `value`.
    const setWith = (value: number[]): number[] => [...head, 0x10, 1, ...stringBytes('k'), ...value];
    const twoOps = (secondHead: number): number[] => [BATCH_FORMAT, 2, ...stringBytes(A), 1, 1, 2, 0x10, 1, ...stringBytes('k'), 2, secondHead, ...stringBytes('j'), 2];
    const cases: [string, number[]][] = [
      ['__proto__ key', setWith([8, 1, ...stringBytes('__proto__'), 2])],
      ['constructor key', setWith([8, 1, ...stringBytes('constructor'), 2])],
      ['a key twice', setWith([8, 2, ...stringBytes('a'), 2, ...stringBytes('a'), 1])],
      ['an unknown tag', setWith([42])],
      ['a count past the record', setWith([7, 0xff, 0xff, 0xff, 0x7f])],
      ['a count of 9 bytes', setWith([3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])],
      ['a negative zero', setWith([4, 0])],
      ['a shaped object before any shape', setWith([9])],
      ['an unknown op code', [...head, 0x19, 1, ...stringBytes('k'), 2]],
      ['an unknown head bit', [...head, 0x90, 1, ...stringBytes('k'), 2]],
      ['the same path as no op before it', [...head, 0x30, 2]],
      ['a sibling of no op before it', [...head, 0x50, ...stringBytes('j'), 2]],
      ['a path both the same and a sibling', twoOps(0x70)],
      ['a path number past those given', [...head, 0x90, 0, 2]],
      ['a path number and a path flag', twoOps(0xb0).slice(0, -3).concat([0, 2])],
      ['a path deeper than maxDepth', [...head, 0x10, 33, ...Array.from({ length: 33 }, () => stringBytes('k')).flat(), 2]],
      ['a bad node id', [BATCH_FORMAT, 1, ...stringBytes('no spaces allowed'), 1, 1, 1, 0x10, 1, ...stringBytes('k'), 2]],
      ['a seq of 0', [BATCH_FORMAT, 1, ...stringBytes(A), 0, 1, 1, 0x10, 1, ...stringBytes('k'), 2]],
      ['an empty run', [BATCH_FORMAT, 1, ...stringBytes(A), 1, 1, 0]],
      ['no op', [BATCH_FORMAT, 0]],
      ['fewer ops than said', [BATCH_FORMAT, 2, ...setWith([2]).slice(2)]],
      ['bytes after the ops', [...setWith([2]), 0]],
      ['an incr of a string', [...head, 0x12, 1, ...stringBytes('k'), 6, ...stringBytes('x')]],
      ['an unknown format', [0x02, ...setWith([2]).slice(1)]],
    ];
    // The well-formed twins of the cases, read back: the cases fail for what they change alone.
    expect(decodeBatch(Uint8Array.from(twoOps(0x50)), limits).map((op) => op.path)).toEqual([['k'], ['j']]);
    expect(decodeBatch(Uint8Array.from(setWith([2])), limits)[0]).toMatchObject({ kind: 'set', path: ['k'], value: true, seq: 1 });
    for (const [name, bytes] of cases) expect(() => decodeBatch(Uint8Array.from(bytes), limits), name).toThrow();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('the journal with binary batches', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('writes binary records, a JSON record for a batch too deep for them, and reads both back in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'collective-batch-'));
    dirs.push(dir);
    const node = 'journal01' as NodeId;
    const journal = new Journal(dir, 1, { v: 1, id: node, boot: 'boot' }, { fsync: 'never', intervalMs: 1000 }, () => undefined, () => undefined);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 1500; i++) deep = [deep];
    const batches: Op[][] = [
      [{ kind: 'set', path: ['a'], value: { x: 1 }, seq: 1, stamp: stamp(10, 0, node) }],
      [{ kind: 'set', path: ['deep'], value: deep as Op['value'], seq: 2, stamp: stamp(11, 0, node) }],
      [{ kind: 'incr', path: ['n'], value: 2, seq: 3, stamp: stamp(12, 0, node) }],
    ];
    for (const batch of batches) {
      for (const op of batch) journal.record(op);
      journal.write();
    }
    journal.close();
    const recovered = recover(dir, { maxDepth: 32, maxValueBytes: 1024 * 1024 });
    expect(recovered.ops.map((op) => op.seq)).toEqual([1, 2, 3]);
    expect(recovered.ops[1]!.value).toEqual(deep);
    expect(recovered.notes).toEqual([]);
  });

  it('numbers paths afresh in each log: a path of the log before a switch is written out in the next', () => {
    const dir = mkdtempSync(join(tmpdir(), 'collective-batch-'));
    dirs.push(dir);
    const node = 'journal02' as NodeId;
    const header = { v: 1 as const, id: node, boot: 'boot' };
    const journal = new Journal(dir, 1, header, { fsync: 'never', intervalMs: 1000 }, () => undefined, () => undefined);
    const hot = Object.freeze(['hot', 'key']) as readonly string[];
    for (let seq = 1; seq <= 4; seq++) {
      journal.record({ kind: 'incr', path: hot, value: seq, seq, stamp: stamp(seq, 0, node) });
      journal.write();
      // A compaction's switch between the second and the third record.
      if (seq === 2) journal.switchTo(2, header);
    }
    journal.close();
    const recovered = recover(dir, { maxDepth: 32, maxValueBytes: 1024 * 1024 });
    expect(recovered.notes).toEqual([]);
    expect(recovered.ops.map((op) => [op.seq, op.value, op.path])).toEqual([1, 2, 3, 4].map((seq) => [seq, seq, ['hot', 'key']]));
  });
});

// A string as ByteWriter writes a short ASCII one: its length times two, then its bytes.
function stringBytes(text: string): number[] {
  return [text.length * 2, ...Buffer.from(text, 'latin1')];
}
