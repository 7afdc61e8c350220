import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { RUN_FIELDS, RUN_HEAD, RUN_MOST_OPS, decodeRun, encodeRuns } from '../../lib/core/codec.js';
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
