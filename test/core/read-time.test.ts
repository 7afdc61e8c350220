import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareStamps, type NodeId, type Stamp } from '../../lib/core/clock.js';
import { ABSENT } from '../../lib/core/node.js';
import type { Op } from '../../lib/core/op.js';
import { turnClock } from '../../lib/core/expiry-timer.js';
import { NOT_HOLDING, ReadTime, type ExpiryClock } from '../../lib/core/read-time.js';
import { Replica } from '../../lib/core/replica.js';
import { ReplicatedTree } from '../../lib/core/tree.js';
import { expiringOpSpecArb, stampExpiringOps } from '../helpers/arbitraries.js';
import { oracleReplay } from '../helpers/oracle.js';

// A tree whose clock holds for a run (a hub's, a member's) checks a cached view that holds an
// expiry against the time once per epoch, not on every read (core/read-time.ts). These check
// that no read ever returns what has expired by the time of its run, and that a run's time
// stands still, against the oracle where it fits.
const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000);

// A clock read by a test: `time.now` is what it says; per run, as a hub's.
const perTurnClock = (time: { now: number }): ExpiryClock => turnClock(() => time.now);

// Lets the run end: the microtask that closes it runs before this one resumes.
const nextRun = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function replicaAt(time: { now: number }, perTurn: boolean): Replica {
  return new Replica({ id: 'hub' as NodeId, now: () => time.now, expiryClock: perTurn ? perTurnClock(time) : () => time.now });
}

describe('ReadTime', () => {
  it('holds one reading for a run with a per-turn clock, and reads every time without', async () => {
    const time = { now: 10 };
    const perTurn = new ReadTime(perTurnClock(time));
    const plain = new ReadTime(() => time.now);
    expect(perTurn.now()).toBe(10);
    expect(plain.now()).toBe(10);
    time.now = 20;
    expect(perTurn.now()).toBe(10);
    expect(plain.now()).toBe(20);
    await nextRun();
    expect(perTurn.now()).toBe(20);
  });

  it('never goes back: not with the clock, not below an op applied', async () => {
    const time = { now: 50 };
    const read = new ReadTime(perTurnClock(time));
    expect(read.now()).toBe(50);
    read.saw(70); // an op made at 70 applied in this run moves the run's time
    expect(read.now()).toBe(70);
    await nextRun();
    time.now = 40;
    expect(read.now()).toBe(70);
  });

  it('ends the epoch once the time reaches the earliest view checked in it, and stamps nothing that does not hold', async () => {
    const time = { now: 0 };
    const read = new ReadTime(perTurnClock(time));
    read.now();
    const epoch = read.holds(100);
    expect(read.holds(200)).toBe(epoch);
    expect(read.holdingEpoch).toBe(epoch);
    await nextRun();
    // Outside a run no stamp holds without a check.
    expect(read.holdingEpoch).not.toBe(epoch);
    time.now = 99;
    read.now();
    expect(read.holdingEpoch).toBe(epoch);
    await nextRun();
    time.now = 100;
    read.now();
    expect(read.holdingEpoch).not.toBe(epoch);
    expect(read.holds(100)).toBe(NOT_HOLDING);
    expect(read.holds(150)).toBe(read.holdingEpoch);
  });
});

describe('reads by a per-turn clock', () => {
  it('hide a value from the first run at or after its expiry, each key at its own time', async () => {
    const time = { now: 1000 };
    const replica = replicaAt(time, true);
    replica.set('s.a', 'a', { ttl: 100 });
    replica.set('s.b', 'b', { ttl: 300 });
    await nextRun();
    // Views of both cached, found holding in one epoch.
    expect(replica.get('s.a')).toBe('a');
    expect(replica.get('s.b')).toBe('b');
    expect(replica.get('s')).toEqual({ a: 'a', b: 'b' });
    time.now = 1150;
    // The same run: its time stands still.
    expect(replica.get('s.a')).toBe('a');
    await nextRun();
    // b first: found holding at 1150, in the epoch that a's expiry ended.
    expect(replica.get('s.b')).toBe('b');
    expect(replica.get('s.a')).toBeUndefined();
    expect(replica.get('s')).toEqual({ b: 'b' });
    time.now = 1300;
    await nextRun();
    expect(replica.get('s.b')).toBeUndefined();
    expect(replica.get('s')).toEqual({});
  });

  it('see an op applied in the run move its time past an expiry', async () => {
    const time = { now: 1000 };
    const replica = replicaAt(time, true);
    replica.set('s.a', 'a', { ttl: 100 });
    await nextRun();
    expect(replica.get('s.a')).toBe('a');
    // Another hub's write, made at 1200, arrives in this same run.
    const op: Op = { kind: 'set', path: ['t'], value: 1, seq: 1, stamp: { wall: 1200, count: 0, node: 'other' as NodeId } };
    replica.applyDelta({ kind: 'ops', ops: [op], vector: {}, clock: op.stamp });
    expect(replica.get('t')).toBe(1);
    expect(replica.get('s.a')).toBeUndefined();
  });

  it('hide a kid GC folded with its expiry from the first run at or after it, one folded since with an earlier one too', async () => {
    const time = { now: 1000 };
    const replica = replicaAt(time, true);
    replica.set('s.a', 'a', { ttl: 500 });
    replica.collect(replica.frontier().clock); // s.a folded into s, with its expiry
    await nextRun();
    expect(replica.get('s.a')).toBe('a'); // no key of s due before 1500: checked for the epoch
    replica.set('s.b', 'b', { ttl: 100 });
    replica.collect(replica.frontier().clock); // s.b folded too, due at 1100, before s.a
    await nextRun();
    time.now = 1100;
    // Still the epoch s was checked in (it ends at 1500), the run begun by a read of s.a; but
    // s.b came due.
    expect(replica.get('s.a')).toBe('a');
    expect(replica.get('s.b')).toBeUndefined();
    await nextRun();
    time.now = 1500;
    expect(replica.get('s.a')).toBeUndefined();
  });

  it('read as the oracle at the time of each run, in any arrival order, paths read in any order, with what GC folded', async () => {
    const paths: (readonly string[])[] = [['a'], ['b'], ['a', 'b'], ['a', 'b', 'c'], ['c', 'a'], ['c', 'b'], ['b', 'a'], ['b', 'c']];
    const opsAndOrder = fc.array(expiringOpSpecArb, { maxLength: 30 }).chain((specs) => {
      const ops = stampExpiringOps(specs);
      return fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }));
    });
    // Each run: the clock moves on, some ops arrive, then every path is read.
    // `fold`: GC folds up to the latest stamp every op at or below which has arrived (as a hub
    // does at a horizon every hub has seen), folding kids into their parents with their expiries.
    const runArb = fc.record({ step: fc.integer({ min: 0, max: 4 }), arrive: fc.integer({ min: 0, max: 4 }), fold: fc.boolean(), reads: fc.shuffledSubarray(paths, { minLength: paths.length, maxLength: paths.length }) });
    await fc.assert(
      fc.asyncProperty(opsAndOrder, fc.array(runArb, { minLength: 1, maxLength: 12 }), async ([ops, order], runsOf) => {
        const time = { now: 0 };
        const tree = new ReplicatedTree(perTurnClock(time));
        const byStamp = [...ops].sort((a, b) => compareStamps(a.stamp, b.stamp));
        const applied: Op[] = [];
        let floor = Number.NEGATIVE_INFINITY;
        for (const run of runsOf) {
          await nextRun();
          time.now += run.step;
          for (const op of order.slice(applied.length, applied.length + run.arrive)) {
            tree.apply(op);
            applied.push(op);
          }
          if (run.fold) {
            let horizon: Stamp | undefined;
            for (const op of byStamp) {
              if (!applied.includes(op)) break;
              horizon = op.stamp;
            }
            if (horizon !== undefined) tree.collect(horizon);
          }
          // The run's time: the clock when it first reads, never before an op held or an earlier read.
          floor = Math.max(floor, time.now, ...applied.map((op) => op.stamp.wall));
          const expected = oracleReplay(applied, floor).tree;
          for (const path of run.reads) {
            let value: unknown = expected;
            for (const key of path) value = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
            const got = tree.get(path as string[]);
            expect(got === ABSENT ? undefined : got, `${path.join('.')} at ${floor}`).toEqual(value);
          }
          expect(tree.getAll(), `the whole tree at ${floor}`).toEqual(expected);
        }
      }),
      { numRuns: Math.max(1, Math.floor(runs / 4)) },
    );
  });
});
