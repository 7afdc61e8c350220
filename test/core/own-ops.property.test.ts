import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareStamps, type NodeId, type Stamp } from '../../lib/core/clock.js';
import { newOp, type Op, type OpKind } from '../../lib/core/op.js';
import { OpColumns } from '../../lib/core/op-columns.js';
import { replay } from '../../lib/core/node.js';
import { ABSENT } from '../../lib/core/slot.js';
import type { JsonValue } from '../../lib/core/value.js';

const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000);
const PATH = Object.freeze(['hits']);
const ORIGINS = ['a', 'b', 'c'] as NodeId[];

// What a command does to the columns and to a plain sorted array of the same ops (the model).
type Command =
  | { insert: { wall: number; count: number; origin: number; kind: OpKind; value: JsonValue | undefined } }
  | { run: { wall: number; origin: number; length: number; value: number } }
  | { drop: number }
  | { release: true };

const valueArb: fc.Arbitrary<JsonValue | undefined> = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(undefined), fc.string({ maxLength: 3 }), fc.constant(null), fc.constant({ k: 1 }));
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ wall: fc.integer({ min: 0, max: 60 }), count: fc.integer({ min: 0, max: 8 }), origin: fc.integer({ min: 0, max: 2 }), kind: fc.constantFrom<OpKind>('set', 'delete', 'incr', 'append'), value: valueArb }).map((insert) => ({ insert })) },
  // A hub's increments of one key, stamped one after the other, at the end: the columns hold
  // them as one record, which later ops split (their stamps are among the run's) and drops cut.
  {
    weight: 3,
    arbitrary: fc
      .record({ wall: fc.integer({ min: 0, max: 60 }), origin: fc.integer({ min: 0, max: 2 }), length: fc.integer({ min: 1, max: 60 }), value: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0), fc.constant(2 ** 50), fc.constant(0.1)) })
      .map((run) => ({ run })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 700 }).map((drop) => ({ drop })) },
  // The node lets its columns go, and holds the same ops in new ones (on chunks let go before).
  { weight: 1, arbitrary: fc.constant({ release: true as const }) },
);

function expectSame(columns: OpColumns, model: Op[], seqs: Map<Op, number>): void {
  expect(columns.length).toBe(model.length);
  expect([...columns]).toEqual(model.map((op) => ({ ...op, seq: seqs.get(op) })));
  for (let i = 0; i < model.length; i++) {
    const op = model[i]!;
    expect(columns.at(i).stamp.node).toBe(op.stamp.node);
    expect(columns.at(i).seq).toBe(op.seq);
    expect(Math.sign(columns.compareAt(i, op.stamp))).toBe(0);
    if (i > 0) expect(Math.sign(columns.compareAt(i, model[i - 1]!.stamp))).toBe(Math.sign(compareStamps(op.stamp, model[i - 1]!.stamp)));
    expect(columns.overwritesFrom(i)).toBe(model.slice(i).some((later) => later.kind === 'set' || later.kind === 'delete'));
  }
  // The highest seq of each origin among the first ops, as a fold notes them.
  for (const count of [0, 1, Math.floor(model.length / 3), model.length]) {
    const expected = new Map<string, number>();
    for (const op of model.slice(0, count)) expected.set(op.stamp.node, Math.max(expected.get(op.stamp.node) ?? 0, op.seq));
    const highest = new Map<string, number>();
    columns.eachHighestSeq(count, (origin, seq) => highest.set(origin, seq));
    expect(highest).toEqual(expected);
  }
  // Replayed in place, with a descendant's write (a touch) between two of them, as node.ts replays an array.
  for (const count of [0, Math.floor(model.length / 2), model.length]) {
    const touch = model[Math.floor(count / 2)]?.stamp;
    const asArray = replay(ABSENT, model.slice(), count, touch === undefined ? undefined : { ...touch, node: 'b0' as NodeId });
    expect(columns.replay(ABSENT, count, touch === undefined ? undefined : { ...touch, node: 'b0' as NodeId })).toEqual(asArray);
  }
}

describe('OpColumns against a sorted array of the same ops', () => {
  it('holds the ops inserted in stamp order, runs of increments as they are split and cut, across chunks, through drops from the front and on chunks let go before', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 300, maxLength: 1500 }), (commands) => {
        const first = newOp('incr', PATH, 1, { wall: -1, count: 0, node: ORIGINS[0]! }, 1);
        let columns = new OpColumns([first]);
        const model: Op[] = [first];
        const seqs = new Map<Op, number>([[first, 1]]);
        let seq = 1;
        for (const command of commands) {
          if ('release' in command) {
            columns.release();
            expect(columns.length).toBe(0);
            columns = new OpColumns(model);
            continue;
          }
          if ('drop' in command) {
            const count = Math.min(command.drop, model.length - 1);
            if (count === 0) continue;
            columns.dropFirst(count);
            model.splice(0, count);
            continue;
          }
          if ('run' in command) {
            const last = model[model.length - 1]!.stamp;
            const wall = Math.max(last.wall, command.run.wall);
            for (let i = 0; i < command.run.length; i++) {
              const stamp: Stamp = { wall, count: (wall === last.wall ? last.count + 1 : 0) + i, node: ORIGINS[command.run.origin]! };
              const op = newOp('incr', PATH, ++seq, stamp, command.run.value);
              expect(columns.insertionIndex(stamp)).toBe(model.length);
              columns.insert(model.length, op);
              model.push(op);
              seqs.set(op, op.seq);
            }
            continue;
          }
          const { wall, count, origin, kind, value } = command.insert;
          const stamp: Stamp = { wall, count, node: ORIGINS[origin]! };
          if (model.some((op) => compareStamps(op.stamp, stamp) === 0)) continue;
          const op = newOp(kind, PATH, ++seq, stamp, kind === 'incr' ? (typeof value === 'number' ? value : 1) : kind === 'delete' ? undefined : value);
          let index = model.length;
          while (index > 0 && compareStamps(model[index - 1]!.stamp, stamp) > 0) index--;
          expect(columns.insertionIndex(stamp)).toBe(index);
          columns.insert(index, op);
          model.splice(index, 0, op);
          seqs.set(op, op.seq);
        }
        expectSame(columns, model, seqs);
        // Its chunks go back for the next case's columns: what they held must not show there.
        columns.release();
      }),
      // Not shrunk: shrinking a case of a thousand commands takes minutes; the seed and path
      // fast-check reports run it again.
      { numRuns: Math.max(50, Math.floor(runs / 20)), endOnFailure: true },
    );
  });

  it("makes each op again, with the node's path, after drops", () => {
    const ops: Op[] = [];
    for (let seq = 1; seq <= 600; seq++) ops.push(newOp('append', PATH, seq, { wall: 1_700_000_000_000 + seq, count: 0, node: ORIGINS[seq % 3]! }, { n: seq }));
    const columns = new OpColumns(ops.slice(0, 1));
    for (const op of ops.slice(1)) columns.insert(columns.length, op);
    columns.dropFirst(300);
    expect(columns.length).toBe(300);
    const again = columns.at(0);
    expect(again).toEqual(ops[300]);
    expect(again.path).toBe(PATH);
    expect(columns.at(299)).toEqual(ops[599]);
  });
});
