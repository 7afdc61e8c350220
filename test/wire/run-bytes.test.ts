import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { RUN_FIELDS, RUN_HEAD, RUN_MOST_OPS, RUN_REPEAT, decodeRun, encodeRuns } from '../../lib/core/codec.js';
import { newOp, type Op } from '../../lib/core/op.js';
import { RunBytes, entryRuns } from '../../lib/wire/run-bytes.js';
import { expiringOpSpecArb, stampExpiringOps } from '../helpers/arbitraries.js';

const limits = { maxDepth: 32, maxValueBytes: 1 << 20 };

describe('runs written as bytes', () => {
  it('are exactly the JSON of the runs, at most RUN_MOST_OPS ops a run, for ops of any origins, seqs and values', () => {
    const bytes = new RunBytes();
    fc.assert(
      fc.property(fc.array(expiringOpSpecArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 60 }), (specs, repeat) => {
        const ops = stampExpiringOps(specs);
        // Runs longer than the most: the same ops again and again, of one origin, seqs and stamps going on.
        const long = Array.from({ length: repeat * 50 }, (_, i) => ({ ...ops[i % ops.length]!, seq: i + 1, stamp: { wall: 1000 + Math.floor(i / 3), count: i % 3, node: 'n1' as NodeId } }));
        for (const list of [ops, long]) {
          const runs = encodeRuns(list);
          const text = entryRuns([bytes.write(list)]).toString();
          expect(text).toBe(JSON.stringify(runs));
          for (const run of runs) expect((run.length - RUN_HEAD) / RUN_FIELDS).toBeLessThanOrEqual(RUN_MOST_OPS);
          expect((JSON.parse(text) as unknown[]).flatMap((run) => decodeRun(run, limits))).toEqual(list);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('write ops that repeat the one before them as one record, as encodeRun does', () => {
    const bytes = new RunBytes();
    // Each spec's op, then `times` more like it: exact repeats (the next counter, the same wall,
    // path array and value), or near ones that must stay ops of their own.
    const groupArb = fc.record({ spec: expiringOpSpecArb, times: fc.integer({ min: 0, max: 1200 }), near: fc.constantFrom('none', 'none', 'path', 'counter', 'value') });
    fc.assert(
      fc.property(fc.array(groupArb, { minLength: 1, maxLength: 8 }), (groups) => {
        const list: Op[] = [];
        let records = 0;
        groups.forEach(({ spec, times, near }, g) => {
          const base = stampExpiringOps([{ ...spec, node: 'n1' }])[0]!;
          const wall = 1_800_000_000_000 + 2 * g;
          let op: Op = { ...base, seq: list.length + 1, stamp: { wall, count: 0, node: 'n1' as NodeId } };
          list.push(op);
          records++;
          let repeated = 0;
          for (let i = 0; i < times; i++) {
            const next: Op = { ...op, seq: op.seq + 1, stamp: { ...op.stamp, count: op.stamp.count + 1 } };
            // Near repeats: an equal path in another array, a counter skipped, another value.
            const odd = i === Math.floor(times / 2) && (near === 'path' || near === 'counter' || (near === 'value' && typeof next.value === 'number'));
            if (odd && near === 'path') op = { ...next, path: [...next.path] };
            else if (odd && near === 'counter') op = { ...next, stamp: { ...next.stamp, count: next.stamp.count + 1 } };
            else if (odd && near === 'value') op = { ...next, value: (next.value as number) + 1 };
            else op = next;
            list.push(op);
            // An op that starts a run of RUN_MOST_OPS repeats nothing: it is a record of its own.
            if (odd || (op.seq - 1) % RUN_MOST_OPS === 0) {
              records += (repeated >= 2 ? 1 : repeated) + 1;
              repeated = 0;
            } else repeated++;
          }
          records += repeated >= 2 ? 1 : repeated;
        });
        const runs = encodeRuns(list);
        const text = entryRuns([bytes.write(list)]).toString();
        expect(text).toBe(JSON.stringify(runs));
        expect(runs.reduce((sum, run) => sum + (run.length - RUN_HEAD) / RUN_FIELDS, 0)).toBe(records);
        expect((JSON.parse(text) as unknown[]).flatMap((run) => decodeRun(run, limits))).toEqual(list.map((op) => (Object.is(op.value, -0) ? { ...op, value: 0 } : op)));
      }),
      { numRuns: 150 },
    );
  });

  it('write a hot counter’s increments in one millisecond in a few bytes', () => {
    const origin = 'aaaaaaaaaaaa' as NodeId;
    const path = ['hits'];
    const ops = Array.from({ length: RUN_MOST_OPS }, (_, i) => newOp('incr', path, i + 1, { wall: 1_800_000_000_000, count: i, node: origin }, 1));
    const text = entryRuns([new RunBytes().write(ops)]).toString();
    expect(text).toBe(`[["aaaaaaaaaaaa",1,1800000000000,[["hits"]],2,0,1,0,0,${RUN_REPEAT},${RUN_MOST_OPS - 1},0,0,0]]`);
    expect((JSON.parse(text) as unknown[]).flatMap((run) => decodeRun(run, limits))).toEqual(ops);
  });

  it('write every number as JSON does, and text in UTF-8', () => {
    const numbers = [0, -0, 1, -1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53 + 2, 1e21, 1.5, -0.25, 5e-7, Number.MAX_VALUE, Number.MIN_VALUE];
    const origin = 'aaaaaaaaaaaa' as NodeId;
    const ops: Op[] = numbers.map((value, i) => newOp('incr', ['n'], i + 1, { wall: 1_800_000_000_000, count: i, node: origin }, value));
    ops.push(newOp('set', ['ключ', '🔑'], numbers.length + 1, { wall: 1_800_000_000_001, count: 0, node: origin }, { 'ü': 'lone \ud800 surrogate', list: ['🔑'] }));
    const text = entryRuns([new RunBytes().write(ops)]).toString();
    expect(text).toBe(JSON.stringify(encodeRuns(ops)));
    // Never written (values are checked finite), and still JSON if one came.
    const odd = [Number.NaN, Number.POSITIVE_INFINITY].map((value, i) => newOp('incr', ['n'], i + 1, { wall: 1_800_000_000_000, count: i, node: origin }, value));
    expect(entryRuns([new RunBytes().write(odd)]).toString()).toBe(JSON.stringify(encodeRuns(odd)));
    // JSON has no -0: it comes back 0, as from JSON.stringify.
    expect((JSON.parse(text) as unknown[]).flatMap((run) => decodeRun(run, limits))).toEqual(ops.map((op) => (Object.is(op.value, -0) ? { ...op, value: 0 } : op)));
  });

  it('join pieces into one entry', () => {
    const origin = 'aaaaaaaaaaaa' as NodeId;
    const ops = Array.from({ length: 30 }, (_, i) => newOp('incr', ['n'], i + 1, { wall: 1_800_000_000_000 + i, count: 0, node: origin }, i));
    const bytes = new RunBytes();
    const joined = entryRuns([bytes.write(ops.slice(0, 10)), bytes.write(ops.slice(10, 25)), bytes.write(ops.slice(25))]).toString();
    expect((JSON.parse(joined) as unknown[]).flatMap((run) => decodeRun(run, limits))).toEqual(ops);
    expect(entryRuns([]).toString()).toBe('[]');
  });
});
