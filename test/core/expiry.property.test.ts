import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareStamps, type NodeId } from '../../lib/core/clock.js';
import { ABSENT } from '../../lib/core/node.js';
import type { Op } from '../../lib/core/op.js';
import { Replica } from '../../lib/core/replica.js';
import { ReplicatedTree } from '../../lib/core/tree.js';
import { expiringOpSpecArb, stampExpiringOps } from '../helpers/arbitraries.js';
import { oracleReplay, oracleState } from '../helpers/oracle.js';

// The expiry rule (DESIGN.md section 7) against the oracle: ops that arm, keep, clear and
// re-arm expiries, mixed with every other write, in any arrival order, read at many times.
const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000);
const READ_TIMES = [Number.NEGATIVE_INFINITY, 0, 2, 4, 6, 8, 10, 12, 14, 16, 20, Number.POSITIVE_INFINITY];

const opsAndOrder = fc.array(expiringOpSpecArb, { maxLength: 30 }).chain((specs) => {
  const ops = stampExpiringOps(specs);
  return fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }));
});

function readAt(build: (clock: () => number) => ReplicatedTree, times: readonly number[], check: (tree: ReplicatedTree, now: number) => void): void {
  let now = 0;
  const tree = build(() => now);
  for (const time of times) {
    now = time;
    check(tree, now);
  }
}

describe('expiry in the replicated tree, against the oracle', () => {
  it('any arrival order yields the oracle state, read at any time', () => {
    fc.assert(
      fc.property(opsAndOrder, ([ops, order]) => {
        readAt(
          (clock) => {
            const tree = new ReplicatedTree(clock);
            for (const op of order) tree.apply(op);
            return tree;
          },
          READ_TIMES,
          (tree, now) => expect(tree.getAll(), `read at ${now}`).toEqual(oracleState(ops, now)),
        );
      }),
      { numRuns: runs },
    );
  });

  it('reads every path as the oracle does, and tells the time left before each value expires', () => {
    fc.assert(
      fc.property(opsAndOrder, fc.constantFrom(0, 5, 9, 13), ([ops, order], now) => {
        const tree = new ReplicatedTree(() => now);
        for (const op of order) tree.apply(op);
        const { tree: expected, armed } = oracleReplay(ops, now);
        for (const path of [['a'], ['b'], ['a', 'b'], ['a', 'b', 'c'], ['c', 'a']]) {
          let value: unknown = expected;
          for (const key of path) value = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
          const got = tree.get(path);
          expect(got === ABSENT ? undefined : got, path.join('.')).toEqual(value);
          // A replica reads at its hybrid clock: never before the latest op it holds.
          const readAt = Math.max(now, ...ops.map((op) => op.stamp.wall));
          const dues = [...armed.values()].filter((entry) => entry.path.every((key, i) => path[i] === key)).map((entry) => entry.at - readAt);
          expect(tree.ttl(path), `ttl of ${path.join('.')}`).toBe(value === undefined || dues.length === 0 ? undefined : Math.min(...dues));
        }
      }),
      { numRuns: runs },
    );
  });

  it('folding up to a horizon (expiries due by then fire for good), then the rest in any order, changes nothing', () => {
    fc.assert(
      fc.property(opsAndOrder, fc.integer({ min: 0, max: 14 }), ([ops, order], horizonWall) => {
        const horizon = { wall: horizonWall, count: 1e9, node: 'zz' as NodeId };
        let now = horizonWall;
        const tree = new ReplicatedTree(() => now);
        const early = order.filter((op) => compareStamps(op.stamp, horizon) <= 0);
        const late = order.filter((op) => compareStamps(op.stamp, horizon) > 0);
        for (const op of early) tree.apply(op);
        tree.collect(horizon);
        expect(tree.getAll()).toEqual(oracleState(early, now));
        for (const op of late) tree.apply(op);
        for (now = horizonWall; now <= 22; now += 3) expect(tree.getAll(), `read at ${now}`).toEqual(oracleState(ops, now));
        for (const op of tree.ops()) expect(compareStamps(op.stamp, horizon)).toBeGreaterThan(0);
        // Folding everything at a time past every expiry leaves nothing but the data.
        now = 40;
        tree.collect({ wall: 40, count: 0, node: '~' as NodeId });
        expect(tree.getAll()).toEqual(oracleState(ops, 40));
        expect(tree.nextDue()).toBeUndefined();
        expect(tree.metadata().ops).toBe(0);
      }),
      { numRuns: runs },
    );
  });

  it('a follower applying the ops in stamp order as final, firing what its hub says is due, equals the oracle', () => {
    fc.assert(
      fc.property(opsAndOrder, fc.integer({ min: 0, max: 20 }), ([ops], horizon) => {
        let now = 0;
        const tree = new ReplicatedTree(() => now);
        for (const op of [...ops].sort((a, b) => compareStamps(a.stamp, b.stamp))) tree.applyFinal(op, op.stamp.wall);
        now = Math.max(horizon, ...ops.map((op) => op.stamp.wall));
        // As a member does at its hub's horizon: take what is due, fold it away.
        tree.takeDue(horizon);
        tree.collect({ wall: horizon, count: Number.MAX_SAFE_INTEGER, node: '~' as NodeId });
        expect(tree.getAll()).toEqual(oracleState(ops, now));
        now += 5;
        expect(tree.getAll()).toEqual(oracleState(ops, now));
      }),
      { numRuns: runs },
    );
  });

  it('a follower mirroring a hub as the relay does (each op, or the state it restated) reads as the hub, at any time', () => {
    fc.assert(
      fc.property(opsAndOrder, ([, order]) => {
        let now = 0;
        const hub = new ReplicatedTree(() => now);
        const follower = new ReplicatedTree(() => now);
        for (const op of order) {
          const restated = hub.apply(op);
          if (restated === undefined) follower.applyFinal(op, op.stamp.wall);
          else if (restated !== null) {
            const state = hub.export(restated);
            follower.restate(restated, state.value, state.armed, state.underObject);
          }
        }
        for (now = 0; now <= 22; now += 2) expect(follower.getAll(), `read at ${now}`).toEqual(hub.getAll());
      }),
      { numRuns: runs },
    );
  });

  it('a replica restored from a snapshot reads the same at any time, and keeps every expiry', () => {
    fc.assert(
      fc.property(opsAndOrder, fc.integer({ min: 0, max: 14 }), ([ops, order], foldAt) => {
        let now = 0;
        const a = new Replica({ id: 'a' as NodeId, now: () => now });
        const receive = a.receiveDelta({ wall: 0, count: 0, node: 'n1' as NodeId });
        receive.apply(order as Op[]);
        a.collect({ wall: foldAt, count: 1e9, node: '~' as NodeId });
        const b = Replica.fromSnapshot(JSON.parse(JSON.stringify(a.snapshot())), { id: 'b' as NodeId, now: () => now });
        for (now = foldAt; now <= 22; now += 2) expect(b.get(), `read at ${now}`).toEqual(oracleState(ops, now));
      }),
      { numRuns: Math.min(runs, 500) },
    );
  });
});
