import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareStamps } from '../../lib/core/clock.js';
import { COLUMNS_FROM, ownOpsTuning } from '../../lib/core/own-ops.js';
import { ReplicatedTree } from '../../lib/core/tree.js';
import { opSpecArb, stampOps } from '../helpers/arbitraries.js';
import { oracleState } from '../helpers/oracle.js';

const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000);

// Nodes keep their own ops as columns from the second (so that nearly every node holding more
// than one does), and as a hub does.
describe.each([2, COLUMNS_FROM])('ReplicatedTree against the oracle, own ops as columns from %i', (columnsFrom) => {
  beforeAll(() => {
    ownOpsTuning.columnsFrom = columnsFrom;
  });
  afterAll(() => {
    ownOpsTuning.columnsFrom = COLUMNS_FROM;
  });

  it('any arrival order yields the oracle state', () => {
    fc.assert(
      fc.property(fc.array(opSpecArb, { maxLength: 30 }).chain((specs) => {
        const ops = stampOps(specs);
        return fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }));
      }), ([ops, order]) => {
        const tree = new ReplicatedTree();
        for (const op of order) tree.apply(op);
        expect(tree.getAll()).toEqual(oracleState(ops));
      }),
      { numRuns: runs },
    );
  });

  it('folding everything up to a horizon, then the rest in any order, changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(opSpecArb, { maxLength: 30 }).chain((specs) => {
          const ops = stampOps(specs);
          return fc.tuple(
            fc.constant(ops),
            fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }),
            fc.integer({ min: 0, max: 12 }),
          );
        }),
        ([ops, order, horizonWall]) => {
          const horizon = { wall: horizonWall, count: 1e9, node: 'zz' as never };
          const tree = new ReplicatedTree();
          const early = order.filter((op) => compareStamps(op.stamp, horizon) <= 0);
          const late = order.filter((op) => compareStamps(op.stamp, horizon) > 0);
          for (const op of early) tree.apply(op);
          tree.collect(horizon);
          expect(tree.getAll()).toEqual(oracleState(early));
          for (const op of late) tree.apply(op);
          expect(tree.getAll()).toEqual(oracleState(ops));
          const heldStamps = [...tree.ops()].map((op) => op.stamp);
          for (const stamp of heldStamps) expect(compareStamps(stamp, horizon)).toBeGreaterThan(0);
        },
      ),
      { numRuns: runs },
    );
  });
});
