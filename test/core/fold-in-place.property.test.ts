import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareStamps, type NodeId } from '../../lib/core/clock.js';
import { encodeNode } from '../../lib/core/snapshot-codec.js';
import type { Op } from '../../lib/core/op.js';
import { foldTuning } from '../../lib/core/fold.js';
import { ReplicatedTree } from '../../lib/core/tree.js';
import type { JsonValue } from '../../lib/core/value.js';
import { jsonSlices } from '../../lib/wire/json-slices.js';
import { encodeArmed, encodeSnapshotArmed } from '../../lib/wire/armed.js';
import { expiringOpSpecArb, stampExpiringOps } from '../helpers/arbitraries.js';
import { oracleState } from '../helpers/oracle.js';

// GC folds kids into a parent's base in place while nothing outside holds that base, and keeps
// such a parent as a node. With the threshold at 1 key, every parent GC folds into here takes
// that path; whatever the tree handed out before (views, snapshots) must never change after.
const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000);

// What was handed out, with its JSON text at the time.
interface HandedOut {
  what: string;
  value: unknown;
  text: string;
}

// Armed expiries as [path, time] pairs, in one order.
function sortedArmed(armed: unknown): string[] {
  return (armed as unknown[]).map((entry) => JSON.stringify(entry)).sort();
}

function deepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (!Object.isFrozen(value)) return false;
  return Object.values(value).every(deepFrozen);
}

// Ops in stamp order, cut into rounds; each round: apply, fold up to its last stamp, read.
const roundsArb = fc.array(expiringOpSpecArb, { minLength: 1, maxLength: 40 }).chain((specs) => {
  const ops = stampExpiringOps(specs).sort((a, b) => compareStamps(a.stamp, b.stamp));
  return fc.tuple(
    fc.constant(ops),
    fc.array(fc.integer({ min: 1, max: ops.length }), { maxLength: 6 }),
    fc.array(fc.constantFrom('all', 'a', 'a.b', 'b', 'snapshot', 'export', 'export whole', 'none'), { minLength: 7, maxLength: 7 }),
  );
});

describe('GC folding into parents in place', () => {
  let kept: number;
  beforeAll(() => {
    kept = foldTuning.keepNodeKeys;
    foldTuning.keepNodeKeys = 1;
  });
  afterAll(() => {
    foldTuning.keepNodeKeys = kept;
  });

  it('yields the oracle state at every round, and never changes a value or snapshot handed out before', () => {
    fc.assert(
      fc.property(roundsArb, ([ops, cuts, reads]) => {
        let now = Number.NEGATIVE_INFINITY;
        const tree = new ReplicatedTree(() => now);
        const ends = [...new Set([...cuts, ops.length])].sort((a, b) => a - b);
        const handedOut: HandedOut[] = [];
        let applied = 0;
        ends.forEach((end, round) => {
          const chunk: Op[] = ops.slice(applied, end);
          for (const op of chunk) tree.apply(op);
          applied = end;
          const horizon = ops[end - 1]!.stamp;
          now = horizon.wall;
          tree.collect(horizon);
          expect(tree.getAll(), `round ${round}`).toEqual(oracleState(ops.slice(0, end), now));
          const read = reads[round % reads.length]!;
          let value: unknown;
          if (read === 'snapshot') value = encodeNode(tree.root);
          else if (read.startsWith('export')) {
            // A member's snapshot (sent in parts, or whole): nothing fired by a clock, and GC
            // fired for good what came due by now; its expiries, those of the tree, some read
            // lazily from parents of many keys.
            const armedNow = sortedArmed(encodeArmed(tree.export([]).armed));
            const exported = tree.export([], read === 'export');
            value = exported.value;
            expect(JSON.parse(JSON.stringify(value ?? {})), `export after round ${round}`).toEqual(oracleState(ops.slice(0, end), now) ?? {});
            const armed = encodeSnapshotArmed(exported.armed, exported.armedFolded);
            expect(sortedArmed(JSON.parse(JSON.stringify(armed))), `expiries after round ${round}`).toEqual(armedNow);
            handedOut.push({ what: `expiries after round ${round}`, value: armed, text: JSON.stringify(armed) });
          }
          else if (read === 'all') value = tree.getAll();
          else if (read !== 'none') value = tree.get(read.split('.'));
          if (value !== undefined && typeof value === 'object') handedOut.push({ what: `${read} after round ${round}`, value, text: JSON.stringify(value) });
        });
        for (const { what, value, text } of handedOut) {
          if (what.startsWith('snapshot') || what.startsWith('export') || what.startsWith('expiries')) {
            // Sent over several turns, as JSON text now and in slices: still what it was when
            // taken (keys may come in another order: a reading walks the keys the folds listed).
            expect(JSON.parse(JSON.stringify(value)), what).toEqual(JSON.parse(text));
            expect(JSON.parse([...jsonSlices(value as JsonValue, 8, 1)].join('')), `${what} in slices`).toEqual(JSON.parse(text));
          } else {
            // A view is what it was, and frozen through.
            expect(JSON.stringify(value), what).toBe(text);
            expect(deepFrozen(value), `${what} is frozen`).toBe(true);
          }
        }
      }),
      { numRuns: runs },
    );
  });

  it('adds the kids of a parent of many keys to its base in place, and copies it once after it was handed out', () => {
    foldTuning.keepNodeKeys = 64;
    try {
      const tree = new ReplicatedTree();
      let count = 0;
      const write = (key: string): void => {
        count++;
        tree.apply({ kind: 'set', path: ['sessions', key], value: { user: count }, seq: count, stamp: { wall: count, count: 0, node: 'n1' as NodeId } });
      };
      const fold = (): void => tree.collect({ wall: count, count: 0, node: 'n1' as NodeId }) as unknown as void;
      for (let i = 0; i < 100; i++) write(`s${i}`);
      fold();
      const parent = tree.root.kid('sessions')!;
      const base = parent.base;
      expect(parent.kids, 'every kid folded').toBeUndefined();
      expect(Object.isFrozen(base), 'the base is not handed out yet').toBe(false);
      expect(tree.metadata(), 'a parent kept holds data, not metadata').toEqual({ nodes: 1, ops: 0 });
      write('s100');
      fold();
      expect(tree.root.kid('sessions'), 'the parent stays a node').toBe(parent);
      expect(parent.base, 'the kid went into the same object').toBe(base);
      const view = tree.get(['sessions']) as Record<string, unknown>;
      expect(Object.isFrozen(view) && Object.keys(view).length).toBe(101);
      write('s101');
      fold();
      expect(parent.base, 'a base handed out is copied').not.toBe(base);
      expect(Object.keys(view), 'and the view read before stays as it was').toHaveLength(101);
      const copied = parent.base;
      write('s102');
      fold();
      expect(parent.base, 'once').toBe(copied);
      expect(Object.keys(tree.get(['sessions']) as object)).toHaveLength(103);
    } finally {
      foldTuning.keepNodeKeys = 1;
    }
  });

  it("takes a kept parent's old value out of the base above it, not to hold its keys twice", () => {
    const tree = new ReplicatedTree();
    let count = 0;
    const write = (path: string[]): void => {
      count++;
      tree.apply({ kind: 'set', path, value: count, seq: count, stamp: { wall: count, count: 0, node: 'n1' as NodeId } });
    };
    const fold = (): void => void tree.collect({ wall: count, count: 0, node: 'n1' as NodeId });
    try {
      // As a snapshot leaves it: the parent's keys inside the root's base, no node of its own.
      foldTuning.keepNodeKeys = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 100; i++) write(['app', 'sessions', `s${i}`]);
      fold();
      const old = (tree.root.base as { app: { sessions: object } }).app.sessions;
      expect(Object.keys(old)).toHaveLength(100);
      expect(tree.root.kids).toBeUndefined();
      foldTuning.keepNodeKeys = 64;
      write(['app', 'sessions', 's100']);
      fold();
      const app = tree.root.kid('app')!;
      const sessions = app.kid('sessions')!;
      expect(Object.keys(sessions.base as object), 'the parent kept as a node').toHaveLength(101);
      expect(app.base === undefined || !Object.hasOwn(app.base as object, 'sessions'), 'not in the base of the node above').toBe(true);
      expect(Object.hasOwn(tree.root.base as object, 'app') && Object.hasOwn((tree.root.base as { app: object }).app, 'sessions'), 'nor in the root').toBe(false);
      expect(Object.keys((tree.get(['app', 'sessions']) as object))).toHaveLength(101);
      expect(tree.get(['app', 'sessions', 's7'])).toBe(8);
    } finally {
      foldTuning.keepNodeKeys = 1;
    }
  });
});
