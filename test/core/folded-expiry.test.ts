import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { Replica } from '../../lib/core/replica.js';

// GC folds a kid that is only a value with one expiry into its parent's base, the expiry kept
// beside it (TreeNode.folded), so that a store of sessions costs about what the data does. These
// check what that must not change: reads, ttl, the schedule (each expiry taken once, at its
// time), unfolding for a write, snapshots, and firing for good once the horizon passes.

const SESSIONS = 2000;

function sessions(): { replica: Replica; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const replica = new Replica({ id: 'hub' as NodeId, now: () => clock.now, expiryClock: () => clock.now });
  for (let i = 0; i < SESSIONS; i++) replica.set(`sessions.s${i}`, { user: i }, { ttl: 1000 + i });
  // Everything written is below this horizon; no expiry is due by it.
  replica.collect({ wall: clock.now + 1, count: 0, node: '~' as NodeId });
  return { replica, clock };
}

describe('kids folded with their expiries', () => {
  it('cost no node each, and read, expire and ttl as before', () => {
    const { replica, clock } = sessions();
    expect(replica.metadata()).toEqual({ nodes: 2, ops: 0 }); // the root and `sessions`
    expect(replica.get('sessions.s5.user')).toBe(5);
    expect(replica.ttl('sessions.s5')).toBe(1005);
    clock.now += 1500;
    expect(replica.get('sessions.s5')).toBeUndefined();
    expect(replica.get('sessions.s600')).toEqual({ user: 600 });
    expect(Object.keys(replica.get('sessions') as object)).toHaveLength(SESSIONS - 501);
  });

  it('come up in the schedule once each, at their time, also when one was unfolded and folded again', () => {
    const { replica, clock } = sessions();
    expect(replica.nextDue()).toBe(clock.now + 1000);
    replica.ttl('sessions.s3'); // a read that unfolds it
    replica.collect({ wall: clock.now + 2, count: 0, node: '~' as NodeId }); // and GC folds it again
    const taken: string[] = [];
    for (let step = 0; step < 40; step++) {
      clock.now += 100;
      for (const due of replica.expireDue()) taken.push(due.path.join('.'));
    }
    expect(taken).toHaveLength(SESSIONS);
    expect(new Set(taken).size).toBe(SESSIONS);
    // Taken off the schedule, not yet fired for good (no horizon passed them): still hidden.
    expect(replica.get('sessions.s5')).toBeUndefined();
    expect(replica.get('sessions.s1999.user')).toBeUndefined();
    expect(replica.get('sessions')).toEqual({});
    expect(replica.nextDue()).toBeUndefined();
  });

  it('stay in the schedule when an expiry is written at their parent, in time or late (the parent becomes a bucket)', () => {
    for (const late of [false, true]) {
      const { replica, clock } = sessions();
      if (late) {
        // Stamped before what the replica holds: applied as a late op.
        const other = new Replica({ id: 'other' as NodeId, now: () => clock.now - 10 });
        replica.apply(other.set('sessions.x', 1));
        replica.apply(other.expire('sessions', null)!);
      } else replica.expire('sessions', null);
      expect(replica.nextDue(), late ? 'late' : 'in time').toBe(clock.now + 1000);
      const taken = new Set<string>();
      for (let step = 0; step < 40; step++) {
        clock.now += 100;
        for (const due of replica.expireDue()) taken.add(due.path.join('.'));
      }
      expect(taken.size).toBe(SESSIONS);
      expect(replica.nextDue()).toBeUndefined();
    }
  });

  it('a write to one unfolds it: its expiry holds, set without ttl clears it, keepTtl keeps it', () => {
    const { replica, clock } = sessions();
    replica.set('sessions.s1.seen', true, { ttl: undefined });
    expect(replica.get('sessions.s1')).toEqual({ user: 1, seen: true });
    replica.set('sessions.s2', { user: 'again' }, { keepTtl: true });
    replica.set('sessions.s3', { user: 'forever' });
    clock.now += 1010;
    expect(replica.get('sessions.s1')).toBeUndefined(); // the write below did not touch the expiry
    expect(replica.get('sessions.s2')).toBeUndefined();
    expect(replica.get('sessions.s3')).toEqual({ user: 'forever' });
  });

  it('travel in snapshots, and a restored replica takes each once', () => {
    const { replica, clock } = sessions();
    const restored = Replica.fromSnapshot(JSON.parse(JSON.stringify(replica.snapshot())), { id: 'other' as NodeId, now: () => clock.now, expiryClock: () => clock.now });
    expect(restored.get()).toEqual(replica.get());
    expect(restored.ttl('sessions.s7')).toBe(1007);
    clock.now += 5000;
    expect(restored.expireDue()).toHaveLength(SESSIONS);
    expect(restored.get('sessions')).toEqual({});
  });

  it('fire for good once the horizon passes them: the store is back to its bare root', () => {
    const { replica, clock } = sessions();
    clock.now += 5000;
    replica.collect({ wall: clock.now, count: 0, node: '~' as NodeId });
    expect(replica.metadata()).toEqual({ nodes: 1, ops: 0 });
    expect(replica.get()).toEqual({ sessions: {} });
  });

  it('a snapshot naming a folded key its base does not hold is refused', () => {
    const { replica } = sessions();
    const snapshot = JSON.parse(JSON.stringify(replica.snapshot()));
    const node = snapshot.tree.k.find(([key]: [string]) => key === 'sessions')[1];
    node.f.push(['ghost', 2_000_000]);
    expect(() => Replica.fromSnapshot(snapshot, { id: 'other' as NodeId })).toThrow(/folded expiry key/);
  });
});

describe('the schedule', () => {
  it('takes an expiry once although a late op replayed its bucket (which arms it again)', () => {
    const clock = { now: 10_000 };
    const hub = new Replica({ id: 'hub' as NodeId, now: () => clock.now, expiryClock: () => clock.now });
    const peer = new Replica({ id: 'peer' as NodeId, now: () => clock.now - 50 });
    const late = peer.set('x.y', 1); // stamped before the hub's write below
    hub.set('x', { a: 1 }, { ttl: 100 });
    hub.apply(late);
    hub.apply(peer.set('x.z', 2)); // and one more, in order, after the first replay
    clock.now += 200;
    expect(hub.expireDue().map((due) => due.path.join('.'))).toEqual(['x']);
    expect(hub.expireDue()).toEqual([]);
  });
});
