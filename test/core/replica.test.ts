import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { RUN_MOST_OPS, RUN_REPEAT, decodeOp, decodeRun, encodeOp, encodeRun } from '../../lib/core/codec.js';
import type { Op } from '../../lib/core/op.js';
import { decodePeerFrame, deltaFrame, snapshotFrame, syncedFrame, vectorFrame } from '../../lib/wire/peer.js';
import type { Delta, Replica as ReplicaType } from '../../lib/core/replica.js';
import { isAfter } from '../../lib/core/clock.js';
import { Replica } from '../../lib/core/replica.js';
import { expiringOpSpecArb, opSpecArb, stampExpiringOps, stampOps } from '../helpers/arbitraries.js';
import { oracleState } from '../helpers/oracle.js';

function pair(): [Replica, Replica] {
  let now = 1000;
  const tick = () => now++;
  return [new Replica({ id: 'alpha' as NodeId, now: tick }), new Replica({ id: 'beta' as NodeId, now: tick })];
}

describe('Replica local writes', () => {
  it('sets, reads, deletes, counts and appends', () => {
    const replica = new Replica();
    replica.set('foo.bar', 'quz');
    expect(replica.get('foo.bar')).toBe('quz');
    expect(replica.get(['foo', 'bar'])).toBe('quz');
    expect(replica.get('foo')).toEqual({ bar: 'quz' });
    replica.incr('hits');
    replica.incr('hits', 4);
    replica.incr('hits', -2);
    expect(replica.get('hits')).toBe(3);
    replica.append('log', { at: 1 });
    replica.append('log', 'two');
    expect(replica.get('log')).toEqual([{ at: 1 }, 'two']);
    replica.delete('foo.bar');
    expect(replica.get('foo.bar')).toBeUndefined();
    expect(replica.get()).toEqual({ foo: {}, hits: 3, log: [{ at: 1 }, 'two'] });
  });

  it('returns deep-frozen values that cannot corrupt the store', () => {
    const replica = new Replica();
    replica.set('config', { limits: { max: 5 }, tags: ['a'] });
    const config = replica.get('config') as { limits: { max: number }; tags: string[] };
    expect(Object.isFrozen(config) && Object.isFrozen(config.limits) && Object.isFrozen(config.tags)).toBe(true);
    expect(() => {
      (config.limits as { max: number }).max = 99;
    }).toThrow(TypeError);
    expect(replica.get('config.limits.max')).toBe(5);
    expect(Object.isFrozen(replica.get())).toBe(true);
  });

  it('reads into stored objects and arrays by path', () => {
    const replica = new Replica();
    replica.set('a', { b: { c: [10, 20] }, 'd.e': 1 });
    expect(replica.get('a.b.c.1')).toBe(20);
    expect(replica.get(['a', 'd.e'])).toBe(1);
    expect(replica.get('a.b.c.length')).toBeUndefined();
    expect(replica.get('a.b.toString')).toBeUndefined();
    expect(replica.get('a.missing.deeper')).toBeUndefined();
  });

  it('overlays a later child write on a stored object, and a write under a primitive makes an object', () => {
    const replica = new Replica();
    replica.set('a', { x: 1, y: 2 });
    replica.set('a.y', 3);
    expect(replica.get('a')).toEqual({ x: 1, y: 3 });
    replica.set('n', 5);
    replica.set('n.child', true);
    expect(replica.get('n')).toEqual({ child: true });
  });

  it('throws synchronously on bad input and applies nothing', () => {
    const replica = new Replica();
    expect(() => replica.set('a..b', 1)).toThrow(TypeError);
    expect(() => replica.set('a', undefined)).toThrow(/Invalid value for `a`/);
    expect(() => replica.incr('a', Number.NaN)).toThrow(/finite number, got `NaN`/);
    expect(() => replica.incr('a', '2' as unknown as number)).toThrow(TypeError);
    expect(() => replica.append('__proto__.x', 1)).toThrow(TypeError);
    expect(replica.get()).toEqual({});
    expect(replica.vector()).toEqual({});
  });

  it('cas sets only when the current value matches', () => {
    const replica = new Replica();
    expect(replica.cas('lock.owner', null, 'w1')).toBeDefined();
    expect(replica.cas('lock.owner', null, 'w2')).toBeUndefined();
    expect(replica.get('lock.owner')).toBe('w1');
    expect(replica.cas('lock.owner', 'w1', { by: 'w3' })).toBeDefined();
    expect(replica.cas('lock.owner', { by: 'w3' }, null)).toBeDefined();
    expect(replica.get('lock.owner')).toBeNull();
  });
});

describe('Replica replication', () => {
  it('applies a live stream once: duplicates are ignored and a gap is refused', () => {
    const [a, b] = pair();
    const ops = [a.set('x', 1), a.incr('n'), a.incr('n')];
    expect(b.apply(ops[0]!)).toBe('applied');
    expect(b.apply(ops[0]!)).toBe('duplicate');
    expect(b.apply(ops[2]!)).toBe('gap');
    expect(b.get('n')).toBeUndefined();
    expect(b.apply(ops[1]!)).toBe('applied');
    expect(b.apply(ops[2]!)).toBe('applied');
    expect(b.get()).toEqual(a.get());
    expect(b.vector()).toEqual(a.vector());
  });

  it('a delta carries only what the other side lacks, never overwritten values', () => {
    const [a, b] = pair();
    const shared = a.set('kept', 'old');
    b.apply(shared);
    a.set('big', 'x'.repeat(1000));
    a.set('big', 'small');
    a.incr('count', 2);
    const delta = a.delta(b.vector());
    if (delta.kind !== 'ops') throw new Error('expected ops');
    expect(delta.ops.map((op) => op.value)).toEqual(['small', 2]);
    b.applyDelta(throughTheWire(delta, b));
    expect(b.get()).toEqual(a.get());
    expect(b.vector()).toEqual(a.vector());
    // And the live stream continues after the delta without a gap.
    expect(b.apply(a.set('after', 1))).toBe('applied');
  });

  it('a replica behind what GC folded gets a snapshot, and a fresh one restores from it', () => {
    const [a, b] = pair();
    for (let i = 0; i < 50; i++) b.apply(a.incr(`counters.c${i % 5}`));
    a.collect(a.frontier().clock);
    const fresh = new Replica({ id: 'gamma' as NodeId });
    const delta = a.delta(fresh.vector());
    expect(delta.kind).toBe('snapshot');
    fresh.applyDelta(throughTheWire(delta, fresh));
    expect(fresh.get()).toEqual(a.get());
    expect(fresh.get('counters.c0')).toBe(10);
    const later = fresh.set('from.gamma', true);
    a.apply(later);
    expect(a.get('from.gamma')).toBe(true);
  });

  it('a hub that reuses its id after losing state numbers new writes after its old ones', () => {
    const [a, b] = pair();
    for (let i = 0; i < 3; i++) b.apply(a.set(`k${i}`, i));
    const reborn = new Replica({ id: 'alpha' as NodeId, now: () => 5000 });
    reborn.applyDelta(b.delta(reborn.vector()));
    const next = reborn.set('after', 'restart');
    expect(next.seq).toBe(4);
    expect(b.apply(next)).toBe('applied');
    expect(b.get('after')).toBe('restart');
  });

  it('a solo replica keeps no op records, and a replica that joins later gets a snapshot', () => {
    const solo = new Replica({ id: 'solo' as NodeId });
    solo.set('a', { b: 1 });
    solo.setSolo(true);
    for (let i = 0; i < 1000; i++) solo.incr(`n.${i % 3}`);
    solo.append('list', 'x');
    solo.delete('a.b');
    expect(solo.metadata().ops).toBe(0);
    const joiner = new Replica({ id: 'joiner' as NodeId });
    const delta = solo.delta(joiner.vector());
    expect(delta.kind).toBe('snapshot');
    joiner.applyDelta(delta);
    expect(joiner.get()).toEqual(solo.get());
    expect(joiner.get()).toEqual({ a: {}, n: { 0: 334, 1: 333, 2: 333 }, list: ['x'] });
    // And the joiner's writes still reach the former solo replica in order.
    expect(solo.apply(joiner.set('from', 'joiner'))).toBe('applied');
    expect(solo.get('from')).toBe('joiner');
  });

  it('a snapshot round-trips through JSON', () => {
    const [a] = pair();
    a.set('a', { b: 1 });
    a.set('a.c', [1]);
    a.incr('a.c');
    a.append('list', 'x');
    a.delete('gone');
    const restored = Replica.fromSnapshot(JSON.parse(JSON.stringify(a.snapshot())), { id: 'copy' as NodeId });
    expect(restored.get()).toEqual(a.get());
    expect(restored.vector()).toEqual(a.vector());
  });

  it('restored from its own snapshot and log (persistence), a replica numbers and stamps its writes after the old ones', () => {
    let now = 1000;
    const a = new Replica({ id: 'self' as NodeId, now: () => now });
    for (let i = 0; i < 5; i++) a.set(`k${i}`, i);
    const snapshot = JSON.parse(JSON.stringify(a.snapshot()));
    const later = [a.incr('n'), a.append('log', 'x')];
    const last = later[1]!;
    now = 900; // its wall clock stepped back meanwhile
    const fromSnapshot = Replica.fromSnapshot(snapshot, { id: 'self' as NodeId, now: () => now });
    expect(fromSnapshot.set('next', 1).seq).toBe(6);
    const restored = Replica.fromSnapshot(snapshot, { id: 'self' as NodeId, now: () => now });
    restored.restore(later);
    expect(restored.get()).toEqual(a.get());
    expect(restored.vector()).toEqual(a.vector());
    const next = restored.set('next', 1);
    expect(next.seq).toBe(8);
    expect(isAfter(next.stamp, last.stamp)).toBe(true);
    // Ops read back twice (a log and the snapshot covering it) count once.
    restored.restore(later);
    expect(restored.get('n')).toBe(1);
  });

  it('rejects a malformed snapshot without building anything', () => {
    const [a] = pair();
    a.set('x', 1);
    const snapshot = JSON.parse(JSON.stringify(a.snapshot()));
    snapshot.tree.k[0][0] = '__proto__';
    expect(() => Replica.fromSnapshot(snapshot)).toThrow(TypeError);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('any interleaving of the origins’ streams, with duplicates, yields the oracle state', () => {
    fc.assert(
      fc.property(
        fc.array(opSpecArb, { maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        (specs, choices) => {
          const ops = stampOps(specs);
          const streams = new Map<string, Op[]>();
          for (const op of ops) (streams.get(op.stamp.node) ?? streams.set(op.stamp.node, []).get(op.stamp.node)!).push(op);
          for (const stream of streams.values()) stream.sort((x, y) => x.seq - y.seq);
          const replica = new Replica({ id: 'observer' as NodeId });
          const cursors = new Map([...streams.keys()].map((origin) => [origin, 0]));
          let turn = 0;
          while ([...cursors].some(([origin, at]) => at < streams.get(origin)!.length)) {
            const open = [...cursors].filter(([origin, at]) => at < streams.get(origin)!.length);
            const choice = choices[turn++ % choices.length]!;
            const [origin, at] = open[choice % open.length]!;
            const op = streams.get(origin)![at]!;
            expect(replica.apply(op)).toBe('applied');
            if (choice % 3 === 0) expect(replica.apply(op)).toBe('duplicate');
            cursors.set(origin, at + 1);
          }
          expect(replica.get()).toEqual(oracleState(ops));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Replica watch', () => {
  it('fires once per change at, under or above the path, with the new value', () => {
    const [a, b] = pair();
    const listener = vi.fn();
    const stop = b.watch('users.42', listener);
    b.apply(a.set('users.42.name', 'ada'));
    b.apply(a.set('users.7', 'other'));
    b.apply(a.set('users', { 42: { name: 'grace' } }));
    expect(listener.mock.calls).toEqual([
      [{ name: 'ada' }, { path: 'users.42.name', segments: ['users', '42', 'name'], op: 'set', origin: 'alpha' }],
      [{ name: 'grace' }, { path: 'users', segments: ['users'], op: 'set', origin: 'alpha' }],
    ]);
    stop();
    b.apply(a.delete('users.42'));
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it('never fires for a stale write or a write of the value already there', () => {
    const [a, b] = pair();
    const stale = b.set('k', 'from-b-early');
    a.set('k', 'newer'); // a's later write wins
    const listener = vi.fn();
    a.watch('k', listener);
    expect(a.apply(stale)).toBe('applied');
    expect(a.get('k')).toBe('newer');
    a.set('k', 'newer');
    expect(listener).not.toHaveBeenCalled();
    a.set('k', 'changed');
    expect(listener).toHaveBeenCalledOnce();
  });

  it('a throwing listener does not stop the write or the other listeners', async () => {
    const replica = new Replica();
    const errors: unknown[] = [];
    const handler = (error: unknown) => errors.push(error);
    process.prependListener('uncaughtException', handler);
    const other = vi.fn();
    replica.watch('x', () => {
      throw new Error('listener bug');
    });
    replica.watch('x', other);
    try {
      replica.set('x', 1);
      expect(replica.get('x')).toBe(1);
      expect(other).toHaveBeenCalledOnce();
      await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 2000 });
    } finally {
      process.removeListener('uncaughtException', handler);
    }
  });
});

describe('Replica metadata GC', () => {
  it('returns to a small constant after quiescence, whatever the number of writes', () => {
    const [a, b] = pair();
    const sizes: number[] = [];
    for (const writes of [100, 1000, 10000]) {
      for (let i = 0; i < writes; i++) {
        const op = i % 3 === 0 ? a.incr(`hits.${i % 7}`) : i % 3 === 1 ? a.set(`users.${i % 50}`, i) : a.delete(`tmp.${i % 11}`);
        b.apply(op);
      }
      expect(a.metadata().ops).toBeGreaterThan(50);
      const horizon = a.frontier().clock;
      a.collect(horizon);
      b.collect(horizon);
      sizes.push(a.metadata().ops + a.metadata().nodes);
      expect(a.metadata()).toEqual({ nodes: 1, ops: 0 });
      expect(b.get()).toEqual(a.get());
    }
    expect(new Set(sizes).size).toBe(1);
  });
});

describe('Replica metadata GC at scale', () => {
  it('folds one node holding 200k op records at once (more than a call takes arguments)', () => {
    const [a, b] = pair();
    for (let i = 0; i < 200_000; i++) b.apply(a.incr('hits'));
    expect(b.metadata().ops).toBe(200_000);
    b.collect(a.frontier().clock);
    expect(b.metadata().ops).toBe(0);
    expect(b.get('hits')).toBe(200_000);
  });
});

describe('Replica GC accounting', () => {
  it('counts as folded, per origin, exactly the ops a partial fold took, however their origins interleave on a key', () => {
    const [a, b] = pair();
    const stamps = [];
    for (let i = 0; i < 40; i++) {
      // Both hubs write the same key, turn by turn, and each applies the other's op.
      const op = i % 3 === 0 ? b.incr('hits') : a.incr('hits');
      (op.stamp.node === a.id ? b : a).apply(op);
      stamps.push(op.stamp);
    }
    stamps.sort((x, y) => (isAfter(x, y) ? 1 : -1));
    const horizon = stamps[24]!;
    a.collect(horizon);
    expect(a.unfoldedOps()).toBe(15);
    expect(a.metadata().ops).toBe(15);
    expect(a.get('hits')).toBe(40);
    // The rest, folded later, leaves nothing counted.
    a.collect(stamps[39]!);
    expect(a.unfoldedOps()).toBe(0);
    expect(a.get('hits')).toBe(40);
  });
});

describe('Replica live stream next to a delta', () => {
  it('applies once an op that a delta brought ahead of the stream, and moves the vector through it', () => {
    const [a, b] = pair();
    const ops = [a.incr('hits'), a.incr('hits'), a.incr('hits')];
    // A delta (from a third hub, say) brings the 2nd and 3rd before the stream brings the 1st.
    const piece = b.receiveDelta(ops[2]!.stamp);
    piece.apply([ops[1]!, ops[2]!]);
    expect(b.get('hits')).toBe(2);
    expect(b.apply(ops[0]!)).toBe('applied');
    expect(b.seqOf(a.id)).toBe(3); // through what came ahead
    expect(b.apply(ops[1]!)).toBe('duplicate');
    expect(b.apply(ops[2]!)).toBe('duplicate');
    expect(b.get('hits')).toBe(3);
    expect(b.apply(a.incr('hits'))).toBe('applied');
    expect(b.get('hits')).toBe(4);
  });
});

describe('Replica receiving pieces of deltas', () => {
  it('applies each op once through stretches that continue a vector, duplicates, ops ahead and other origins, in one piece', () => {
    const [a, b] = pair();
    const c = new Replica({ id: 'n3' as NodeId });
    const fromA = Array.from({ length: 6 }, () => a.incr('hits'));
    const fromC = Array.from({ length: 3 }, () => c.incr('hits', 10));
    const receiver = b.receiveDelta(fromA[5]!.stamp);
    // a1-a2 continue the vector, a2 again within them, a3; c3 comes ahead of c1-c2; a3 again;
    // a4 after it; then c1-c2.
    receiver.apply([fromA[0]!, fromA[1]!, fromA[1]!, fromA[2]!, fromC[2]!, fromA[2]!, fromA[3]!, fromC[0]!, fromC[1]!]);
    expect(b.get('hits')).toBe(4 + 30);
    expect(b.seqOf(a.id)).toBe(4);
    expect(b.seqOf(c.id)).toBe(3); // through c3, applied ahead
    // The rest of a's, with a4 again at the start of the piece.
    receiver.apply([fromA[3]!, fromA[4]!, fromA[5]!]);
    receiver.end({ [a.id]: { seq: 6, stamp: fromA[5]!.stamp } });
    expect(b.get('hits')).toBe(6 + 30);
    expect(b.seqOf(a.id)).toBe(6);
    expect(b.apply(a.incr('hits'))).toBe('applied');
    expect(b.get('hits')).toBe(37);
  });
});

describe('Replica past a fold', () => {
  it('calls an op new here but stamped at or below the folded horizon late, and nothing else', () => {
    const [a, b] = pair();
    const early = b.set('x', 1); // stamped, not yet sent to a
    const folded = [];
    for (let i = 0; i < 5; i++) folded.push(a.incr('n'));
    a.collect(a.frontier().clock);
    expect(a.foldedTo).toBeDefined();
    expect(a.isLate(early)).toBe(true);
    // At or below the horizon, but held (folded): duplicates, not late.
    for (const op of folded) expect(a.isLate(op)).toBe(false);
    const fresh = b.set('y', 2);
    expect(a.isLate(fresh)).toBe(false); // b's clock saw nothing of a's: still, this one was stamped before a folded
    const after = a.incr('n');
    expect(a.isLate(after)).toBe(false); // already applied: a duplicate, not late
  });

  it('restamps a replica that holds only its own, unshared ops: same values, stamps past the horizon', () => {
    const [a, b] = pair();
    b.incr('hits', 2);
    b.set('users.ada', { age: 36 });
    b.append('log', 'one');
    b.set('users.ada.age', 37);
    const before = b.get();
    for (let i = 0; i < 5; i++) a.incr('hits');
    a.collect(a.frontier().clock);
    const horizon = a.foldedTo!;
    expect(b.restampOwn(horizon)).toBe(true);
    expect(b.get()).toEqual(before);
    const delta = b.delta(a.vector());
    expect(delta.kind).toBe('ops');
    if (delta.kind !== 'ops') return;
    for (const op of delta.ops) expect(a.isLate(op)).toBe(false);
    a.applyDelta(delta);
    expect(a.get()).toEqual({ hits: 7, users: { ada: { age: 37 } }, log: ['one'] });
    // Both now record the same latest stamp for b: the vectors agree.
    expect(a.vector()[b.id]).toEqual(b.vector()[b.id]);
    // Nothing to restamp once every op is past the horizon, or once others' ops are held.
    expect(b.restampOwn(horizon)).toBe(false);
    const c = new Replica({ id: 'gamma' as NodeId, now: () => 10_000 });
    c.set('z', 1);
    c.applyDelta(a.delta(c.vector()));
    expect(c.restampOwn(horizon)).toBe(false);
  });

  it('calls late an op below a horizon another replica folded at, once it holds all that one held; not before', () => {
    const [a, b] = pair();
    const early = b.set('x', 1); // stamped, shared with nobody yet
    for (let i = 0; i < 5; i++) a.incr('n');
    a.collect(a.frontier().clock);
    // c has not taken a's ops yet: a's fold tells it nothing (its ops may still come).
    const c = new Replica({ id: 'gamma' as NodeId, now: () => 900 });
    const heard = (frontier: ReturnType<ReplicaType['frontier']>) => {
      const frame = decodePeerFrame(JSON.parse(JSON.stringify(vectorFrame({ ...frontier, members: [], retired: [] }))), c.limits);
      if (frame.t !== 'vector' || frame.message.folded === undefined) throw new Error('expected a vector frame telling a fold');
      return c.heardFold(frame.message.folded, frame.message.vector);
    };
    expect(heard(a.frontier())).toBe(false);
    expect(c.isLate(early)).toBe(false);
    c.applyDelta(a.delta(c.vector()));
    expect(heard(a.frontier())).toBe(true);
    expect(c.isLate(early)).toBe(true);
    expect(c.isLate(b.set('y', 2))).toBe(false); // stamped after: not late
  });

  it('carries the folded horizon in a snapshot, so a replica restored from it refuses late ops too', () => {
    const [a, b] = pair();
    const early = b.set('x', 1);
    a.incr('n');
    a.collect(a.frontier().clock);
    const restored = Replica.fromSnapshot(JSON.parse(JSON.stringify(a.snapshot())), { id: 'gamma' as NodeId });
    expect(restored.foldedTo).toEqual(a.foldedTo);
    expect(restored.isLate(early)).toBe(true);
  });
});

describe('Replica merging a snapshot past a fold', () => {
  const at = (wall: number) => () => wall;
  it('refuses the group’s snapshot while it holds its own writes stamped below the group’s fold, changing nothing', () => {
    const group = new Replica({ id: 'group' as NodeId, now: at(5000) });
    group.set('x', 'group');
    group.collect({ wall: 5000, count: 0, node: '~' as NodeId });
    // A newcomer whose clock is far behind wrote before it ever linked.
    const newcomer = new Replica({ id: 'newcomer' as NodeId, now: at(1000) });
    newcomer.set('y', 'old');
    const before = newcomer.get();
    expect(() => newcomer.adoptSnapshot(group.snapshot())).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_BELOW_HORIZON', message: expect.stringMatching(/restart this hub without its state/) }));
    expect(newcomer.get()).toEqual(before);
  });

  it('refuses a snapshot holding ops below its own fold that it lacks', () => {
    const folded = new Replica({ id: 'folded' as NodeId, now: at(5000) });
    folded.set('a', 1);
    folded.collect({ wall: 5000, count: 0, node: '~' as NodeId });
    const other = new Replica({ id: 'other' as NodeId, now: at(3000) });
    other.set('b', 'written below the fold');
    expect(() => folded.adoptSnapshot(other.snapshot())).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_BELOW_HORIZON' }));
    expect(folded.get()).toEqual({ a: 1 });
  });

  it('takes a snapshot that holds what it folded, and ops after its fold; refuses one lacking what it folded', () => {
    const folded = new Replica({ id: 'folded' as NodeId, now: at(5000) });
    folded.set('a', 1);
    folded.collect({ wall: 5000, count: 0, node: '~' as NodeId });
    const other = new Replica({ id: 'other' as NodeId, now: at(6000) });
    other.set('b', 2);
    // `other` never got `a`: taking its state would lose what this replica folded.
    expect(() => folded.adoptSnapshot(other.snapshot())).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_BELOW_HORIZON' }));
    expect(folded.get()).toEqual({ a: 1 });
    other.applyDelta(folded.delta(other.vector()));
    other.set('c', 3);
    folded.adoptSnapshot(other.snapshot());
    expect(folded.get()).toEqual({ a: 1, b: 2, c: 3 });
  });
});

describe('decodeOp', () => {
  const limits = { maxDepth: 32, maxValueBytes: 1024 };
  const good = encodeOp({ kind: 'set', path: ['a', 'b'], value: 1, seq: 1, stamp: { wall: 5, count: 0, node: 'n' as NodeId } });

  it('round-trips a valid op', () => {
    expect(decodeOp(JSON.parse(JSON.stringify(good)), limits)).toMatchObject({ kind: 'set', path: ['a', 'b'], value: 1 });
  });

  it.each([
    ['a __proto__ path', { ...good, p: ['__proto__', 'x'] }],
    ['a dotted string path', { ...good, p: 'a.b' }],
    ['an unknown kind', { ...good, k: 'drop' }],
    ['a non-finite incr', { ...good, k: 'incr', v: 'lots' }],
    ['a negative seq', { ...good, s: -1 }],
    ['a fractional wall', { ...good, w: 1.5 }],
    ['a bad node id', { ...good, n: 'a b' }],
    ['a value with a __proto__ key', { ...good, v: JSON.parse('{"__proto__": {"hacked": 1}}') }],
    ['an oversized value', { ...good, v: 'x'.repeat(5000) }],
    ['a set without value', { k: 'set', p: ['a'], s: 1, w: 1, c: 0, n: 'n' }],
    ['not an object', 'set a 1'],
  ])('rejects %s', (_name, input) => {
    expect(() => decodeOp(input, limits)).toThrow();
    expect(({} as Record<string, unknown>).hacked).toBeUndefined();
  });
});

describe('encodeRun / decodeRun (a hub’s live stream)', () => {
  const limits = { maxDepth: 32, maxValueBytes: 1024 };

  it('round-trips consecutive ops of one origin, with walls as steps and seqs implied', () => {
    let now = 5000;
    const replica = new Replica({ id: 'origin' as NodeId, now: () => Math.floor(now++ / 3) });
    const ops = [replica.set('a.b', { x: [1, 'two'] }), replica.incr('n', -2.5), replica.delete('a'), replica.append('log', null)];
    const run = encodeRun(ops);
    expect(JSON.stringify(run).length).toBeLessThan(JSON.stringify(ops.map(encodeOp)).length / 2);
    expect(decodeRun(JSON.parse(JSON.stringify(run)), limits)).toEqual(ops);
  });

  it('round-trips expiring ops of every kind (set, incr, append with an expiry; keepTtl; ttl and its clearing)', () => {
    const replica = new Replica({ id: 'origin' as NodeId, now: () => 5000 });
    const ops = [
      replica.set('a', 1, { ttl: 100 }),
      replica.incr('n', 2, { ttl: 200 }),
      replica.append('log', 'x', { ttl: 300 }),
      replica.set('a', 2, { keepTtl: true }),
      replica.expire('a', 400)!,
      replica.expire('a', null)!,
      replica.set('b', { deep: [1] }),
    ];
    expect(decodeRun(JSON.parse(JSON.stringify(encodeRun(ops))), limits)).toEqual(ops);
  });

  it('round-trips any run of expiring ops', () => {
    fc.assert(
      fc.property(fc.array(expiringOpSpecArb, { minLength: 1, maxLength: 20 }), (specs) => {
        const ops = stampExpiringOps(specs).filter((op) => op.stamp.node === 'n1');
        if (ops.length === 0) return;
        const run = ops.map((op, i) => ({ ...op, seq: ops[0]!.seq + i }));
        expect(decodeRun(JSON.parse(JSON.stringify(encodeRun(run))), limits)).toEqual(run);
      }),
    );
  });

  it.each([
    ['not an array', { n: 'x' }, /op run/],
    ['no ops', ['n', 1, 5, [['a']]], /op run/],
    ['a partial op', ['n', 1, 5, [['a']], 0, 0, 1, 0], /op run/],
    ['a bad node', ['a b', 1, 5, [['a']], 0, 0, 1, 0, 0], /node id/],
    ['seq 0', ['n', 0, 5, [['a']], 0, 0, 1, 0, 0], /run seq/],
    ['no paths', ['n', 1, 5, [], 0, 0, 1, 0, 0], /run paths/],
    ['a kind code out of range', ['n', 1, 5, [['a']], 10, 0, 1, 0, 0], /op kind/],
    ['a repeat of no op', ['n', 1, 5, [['a']], RUN_REPEAT, 2, 0, 0, 0], /repeating no op/],
    ['a repeat count of 0', ['n', 1, 5, [['a']], 2, 0, 1, 0, 0, RUN_REPEAT, 0, 0, 0, 0], /repeat count/],
    ['a repeat count that is not a count', ['n', 1, 5, [['a']], 2, 0, 1, 0, 0, RUN_REPEAT, 1.5, 0, 0, 0], /repeat count/],
    ['a repeat with more than its count', ['n', 1, 5, [['a']], 2, 0, 1, 0, 0, RUN_REPEAT, 2, 1, 0, 0], /repeat record/],
    ['repeats past the most ops a run holds', ['n', 1, 5, [['a']], 2, 0, 1, 0, 0, RUN_REPEAT, RUN_MOST_OPS, 0, 0, 0], /more than/],
    ['repeats past the largest counter', ['n', 1, 5, [['a']], 2, 0, 1, 0, Number.MAX_SAFE_INTEGER, RUN_REPEAT, 1, 0, 0, 0], /repeat count/],
    ['a ttl op whose time is not a time', ['n', 1, 5, [['a']], 4, 0, 'soon', 0, 0], /expiry time/],
    ['a ttl op with a negative time', ['n', 1, 5, [['a']], 4, 0, -5, 0, 0], /expiry time/],
    ['a set with an expiry whose slot is not [value, time]', ['n', 1, 5, [['a']], 5, 0, 1, 0, 0], /with an expiry/],
    ['a set whose expiry is past any date', ['n', 1, 5, [['a']], 5, 0, [1, 1e20], 0, 0], /expiry time/],
    ['a kind given as a name', ['n', 1, 5, [['a']], 'length', 0, 1, 0, 0], /op kind/],
    ['a path index out of range', ['n', 1, 5, [['a']], 0, 1, 1, 0, 0], /path index/],
    ['a path index given as a name', ['n', 1, 5, [['a']], 0, 'length', 1, 0, 0], /path index/],
    ['a __proto__ path', ['n', 1, 5, [['__proto__', 'x']], 0, 0, 1, 0, 0], /__proto__/],
    ['a negative wall step', ['n', 1, 5, [['a']], 0, 0, 1, -1, 0], /wall step/],
    ['a delete with a value', ['n', 1, 5, [['a']], 1, 0, { x: 1 }, 0, 0], /delete op/],
    ['a non-finite incr', ['n', 1, 5, [['a']], 2, 0, 'lots', 0, 0], /incr amount/],
    ['a value with a __proto__ key', ['n', 1, 5, [['a']], 0, 0, JSON.parse('{"__proto__": {"hacked": 1}}'), 0, 0], /__proto__/],
  ])('rejects %s', (_name, input, reason) => {
    expect(() => decodeRun(input, limits)).toThrow(reason);
    expect(({} as Record<string, unknown>).hacked).toBeUndefined();
  });
});

// A delta as the peer protocol carries it: its frames (wire/peer.ts), through JSON and the guards.
function throughTheWire(delta: Delta, receiver: ReplicaType): Delta {
  const carry = (frame: object) => decodePeerFrame(JSON.parse(JSON.stringify(frame)), receiver.limits);
  if (delta.kind === 'snapshot') {
    const frame = carry(snapshotFrame(delta.snapshot));
    if (frame.t !== 'snapshot') throw new Error('expected a snapshot frame');
    return { kind: 'snapshot', snapshot: frame.snapshot };
  }
  const ops = carry(deltaFrame(1, 0, delta.clock, delta.ops));
  const synced = carry(syncedFrame(1, 1, delta.vector));
  if (ops.t !== 'delta' || synced.t !== 'synced') throw new Error('expected delta frames');
  return { kind: 'ops', ops: ops.ops, clock: ops.clock, vector: synced.vector };
}
