import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { ABSENT } from '../../lib/core/node.js';
import type { Op } from '../../lib/core/op.js';
import { turnClock } from '../../lib/core/expiry-timer.js';
import { Replica } from '../../lib/core/replica.js';
import { ReplicatedTree } from '../../lib/core/tree.js';

// A replica keeps the values it read by string path while its tree's count of changes stands
// and no expiry armed then came (lib/core/read-cache.ts). Reads by an array path take no cache:
// at every moment both must read the same, whatever was written, arrived late, was folded or
// expired. (A member's reads: test/member/read-cache.test.ts.)

const runs = Math.max(50, Math.floor(Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000) / 4));
const PATHS = ['a', 'a.b', 'a.b.c', 'x', 'x.y', 'n'];
// More reads of one path than the misses after which it gets an entry (8).
const READS_TO_CACHE = 10;

function expectSameReads(replica: Replica, step: string): void {
  for (const path of PATHS) {
    const uncached = replica.get(path.split('.'));
    for (let i = 0; i < READS_TO_CACHE; i++) expect(replica.get(path), `${path} after ${step}`).toEqual(uncached);
  }
}

const stepArb = fc.oneof(
  fc.record({
    step: fc.constant('write' as const),
    by: fc.constantFrom('here', 'there'),
    kind: fc.constantFrom('set', 'delete', 'incr', 'append', 'expire'),
    path: fc.constantFrom(...PATHS),
    value: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('s', { k: 1 }, [1])),
    ttl: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
  }),
  // The other replica's writes arrive, in its order (each late or not, by the stamps).
  fc.record({ step: fc.constant('deliver' as const) }),
  fc.record({ step: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 15 }) }),
  fc.record({ step: fc.constant('collect' as const) }),
  fc.record({ step: fc.constant('expireDue' as const) }),
);

describe('a replica’s reads by string path, cached', () => {
  it('read what an uncached read does, through writes, late arrivals, GC, expiries and time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
        let now = 1000;
        // Expiries read by a clock read once per run of code, as a hub's are: a run ends at the
        // next microtask, which each step awaits before its reads.
        const here = new Replica({ id: 'here0000' as NodeId, now: () => now, expiryClock: turnClock(() => now) });
        const there = new Replica({ id: 'there000' as NodeId, now: () => now - 5 });
        const undelivered: Op[] = [];
        for (const [i, step] of steps.entries()) {
          if (step.step === 'write') {
            const replica = step.by === 'here' ? here : there;
            const options = step.ttl === undefined ? undefined : { ttl: step.ttl };
            let op: Op | undefined;
            if (step.kind === 'set') op = replica.set(step.path, step.value, options);
            else if (step.kind === 'delete') op = replica.delete(step.path);
            else if (step.kind === 'incr') op = replica.incr(step.path, 1, options);
            else if (step.kind === 'append') op = replica.append(step.path, step.value, options);
            else op = replica.expire(step.path, step.ttl ?? null);
            if (op !== undefined && replica === there) undelivered.push(op);
          } else if (step.step === 'deliver') {
            for (const op of undelivered.splice(0)) here.apply(op);
          } else if (step.step === 'advance') now += step.ms;
          else if (step.step === 'collect') here.collect(here.frontier().clock);
          else here.expireDue();
          await Promise.resolve();
          expectSameReads(here, `step ${i} (${step.step})`);
        }
      }),
      { numRuns: runs },
    );
  });

  it('hides a value whose expiry came by the read time, though nothing took it off yet', () => {
    let now = 1000;
    const replica = new Replica({ now: () => now });
    replica.set('session', 'v', { ttl: 100 });
    for (let i = 0; i < READS_TO_CACHE; i++) expect(replica.get('session')).toBe('v');
    now += 100;
    expect(replica.get(['session'])).toBeUndefined();
    expect(replica.get('session')).toBeUndefined();
  });

  it('reads a snapshot adopted, not what it read before', () => {
    let now = 1000;
    const replica = new Replica({ id: 'replica1' as NodeId, now: () => now });
    const first = replica.set('a', 1);
    for (let i = 0; i < READS_TO_CACHE; i++) expect(replica.get('a')).toBe(1);
    const other = new Replica({ id: 'replica2' as NodeId, now: () => now });
    other.apply(first);
    now += 1;
    other.set('a', 2);
    replica.adoptSnapshot(other.snapshot());
    expect(replica.get(['a'])).toBe(2);
    expect(replica.get('a')).toBe(2);
  });

  it('moves the count of changes at every method that writes, folds, restores or takes expiries', () => {
    const tree = new ReplicatedTree(() => 5000);
    const stamp = (wall: number) => ({ wall, count: 0, node: 'n' as NodeId });
    const moves: [string, () => unknown][] = [
      ['apply', () => tree.apply({ kind: 'set', path: ['a'], value: 1, seq: 1, stamp: stamp(1000) })],
      ['applyFinal', () => tree.applyFinal({ kind: 'set', path: ['b'], value: 2 }, 1001)],
      ['restate', () => tree.restate(['b'], 3, [{ path: [], at: 9000 }], false)],
      ['restate (dropped)', () => tree.restate(['z'], ABSENT, [], false)],
      ['collect', () => tree.collect(stamp(1002))],
      ['takeDue', () => tree.takeDue(5000)],
      ['takeOver', () => tree.takeOver(ReplicatedTree.fromValue({ c: 4 }, stamp(1003)))],
      ['restored', () => tree.restored(stamp(1004))],
    ];
    const seen = new Set([tree.changes]);
    for (const [name, move] of moves) {
      move();
      expect(seen.has(tree.changes), name).toBe(false);
      seen.add(tree.changes);
    }
    // A tree made afresh never starts at a count another one had.
    expect(seen.has(new ReplicatedTree().changes)).toBe(false);
  });
});
