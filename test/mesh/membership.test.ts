import { describe, expect, it } from 'vitest';
import type { NodeId, Stamp } from '../../lib/core/clock.js';
import type { Frontier, VersionVector } from '../../lib/core/horizon.js';
import { Membership } from '../../lib/mesh/membership.js';

const id = (name: string) => name as NodeId;
const stamp = (wall: number, node = 'x'): Stamp => ({ wall, count: 0, node: id(node) });
const vector = (entries: Record<string, number>): VersionVector =>
  Object.fromEntries(Object.entries(entries).map(([origin, seq]) => [origin, { seq, stamp: stamp(seq * 10, origin) }]));
const own = (entries: Record<string, number>, clock = 1000): Frontier => ({ id: id('me'), clock: stamp(clock, 'me'), vector: vector(entries) });
const heard = (entries: Record<string, number>, clock = 1000, members: string[] = [], retired: string[] = []) => ({
  vector: vector(entries),
  clock: stamp(clock),
  members: members.map(id),
  retired: retired.map(id),
});

describe('Membership (who GC waits for)', () => {
  it('alone, folds up to its own clock', () => {
    expect(new Membership(id('me')).horizon(own({ me: 3 }, 500), true, 1000, 0)).toEqual(stamp(500, 'me'));
  });

  it('waits for a frontier from every member, and for a recent one', () => {
    const group = new Membership(id('me'));
    group.join(id('peer'));
    expect(group.horizon(own({ me: 3 }), true, 1000, 0)).toBeUndefined();
    group.heard(id('peer'), heard({ me: 3, peer: 2 }, 700), 0);
    expect(group.horizon(own({ me: 3, peer: 2 }), true, 1000, 500)).toEqual(stamp(700));
    expect(group.horizon(own({ me: 3, peer: 2 }), true, 1000, 5000)).toBeUndefined(); // that frontier is stale now
    expect(group.horizon(own({ me: 3, peer: 2 }), false, 1000, 500)).toBeUndefined(); // a configured peer never reached
  });

  it('learns members from its peers, and waits for those it has not heard from itself', () => {
    const group = new Membership(id('me'));
    group.join(id('peer'));
    group.heard(id('peer'), heard({ peer: 1 }, 700, ['peer', 'me', 'third']), 0);
    expect(group.counts.members).toBe(2);
    expect(group.horizon(own({ me: 1, peer: 1 }), true, 1000, 0)).toBeUndefined();
  });

  it('waits while a vector holds ops of a hub it has never heard of', () => {
    const group = new Membership(id('me'));
    group.join(id('peer'));
    group.heard(id('peer'), heard({ peer: 1, stranger: 4 }, 700), 0);
    expect(group.horizon(own({ me: 1, peer: 1, stranger: 4 }), true, 1000, 0)).toBeUndefined();
  });

  it('retires a hub whose address answers with another id, and hears of retirements from peers', () => {
    const group = new Membership(id('me'));
    group.join(id('old'));
    group.replaced(id('old'), id('new'));
    group.heard(id('new'), heard({ me: 2, old: 5, new: 1 }, 900, ['new', 'me'], ['old']), 0);
    // The retired hub's ops no longer hold GC back once every live hub holds the same of them.
    expect(group.horizon(own({ me: 2, old: 5, new: 1 }, 800), true, 1000, 0)).toEqual(stamp(800, 'me'));
    group.heard(id('new'), heard({ new: 1 }, 900, ['new', 'me', 'gone'], ['gone']), 0);
    expect(group.counts).toEqual({ members: 1, retired: 2 });
    group.join(id('gone')); // a retired id never comes back
    expect(group.counts.members).toBe(1);
  });

  it('retires the ids its persisted state was kept under before, though nobody met them, and tells the group', () => {
    const group = new Membership(id('me'));
    group.join(id('peer'));
    group.heard(id('peer'), heard({ me: 1, peer: 1, earlier: 2 }, 700), 0);
    // `earlier` wrote, then its machine crashed before it linked with anyone: only this hub's
    // disk held its ops, and this hub came back under `me`.
    expect(group.horizon(own({ me: 1, peer: 1, earlier: 2 }), true, 1000, 0)).toBeUndefined();
    group.predecessors([id('earlier')]);
    expect(group.horizon(own({ me: 1, peer: 1, earlier: 2 }), true, 1000, 0)).toEqual(stamp(700));
    expect(group.group().retired).toContain('earlier');
  });
});

describe('Membership: where members live, and ops lost with a dead hub', () => {
  it('retires every id met at an address that now answers with another, even one it only heard of', () => {
    const group = new Membership(id('me'));
    group.join(id('peer'));
    // `peer` tells: `old` lives at host:1 (this hub never met it).
    group.heard(id('peer'), { ...heard({ peer: 1, old: 2 }, 700, ['peer', 'old']), places: [[id('old'), 'host:1']] }, 0);
    expect(group.counts.members).toBe(2);
    expect(group.reached(id('new'), 'host:1')).toEqual(['old']);
    expect(group.counts).toEqual({ members: 2, retired: 1 });
    expect(group.message({ frontier: () => own({}) } as never).retired).toEqual(['old']);
    // Another id answering later at the same address retires `new` in turn.
    group.livesAt(id('new'), 'host:1');
    expect(group.reached(id('newer'), 'host:1')).toEqual(['new']);
  });

  it('learns from a sender’s group message (its `members` frame, sent before others’ ops) whom to count and whom not, with no frontier', () => {
    const group = new Membership(id('me'));
    group.join(id('peer'));
    group.heardGroup({ members: [id('peer'), id('third')], retired: [id('gone')], places: [[id('third'), 'host:3']] });
    expect(group.counts).toEqual({ members: 2, retired: 1 });
    // Ops of `gone` no longer hold GC back; `third` is waited for until its frontier comes.
    group.heard(id('peer'), heard({ me: 1, peer: 1, gone: 3 }, 700), 0);
    expect(group.horizon(own({ me: 1, peer: 1, gone: 3 }), true, 1000, 0)).toBeUndefined();
    group.heard(id('third'), heard({ me: 1, peer: 1, gone: 3 }, 800), 0);
    expect(group.horizon(own({ me: 1, peer: 1, gone: 3 }), true, 1000, 0)).toEqual(stamp(700));
    expect(group.reached(id('third-again'), 'host:3')).toEqual(['third']);
  });

  it('says an op of a retired hub is lost once every member holds its ops up to just before it, and some hold ops after', () => {
    const group = new Membership(id('me'));
    group.join(id('peer'));
    group.join(id('dead'));
    group.replaced(id('dead'), id('reborn'));
    group.heard(id('reborn'), heard({ dead: 4 }, 900, ['reborn', 'me', 'peer'], ['dead']), 0);
    // peer holds dead#6 and #7 beyond its vector (dead#5 never reached it); this hub holds none.
    group.heard(id('peer'), { ...heard({ dead: 4 }, 900), held: { dead: 7 } }, 0);
    expect(group.lost(own({ dead: 4 }), true, 1000, 0)).toEqual([['dead', 5]]);
    // Not while a member holds more in order (it has dead#5: it will spread), nor while a frontier is stale.
    group.heard(id('reborn'), heard({ dead: 5 }, 900, ['reborn', 'me', 'peer'], ['dead']), 0);
    expect(group.lost(own({ dead: 4 }), true, 1000, 0)).toEqual([]);
    expect(group.lost(own({ dead: 4 }), true, 1000, 5000)).toEqual([]);
  });
});

describe('Membership: telling what changed, to keep it on disk', () => {
  it('calls onChange when whom it counts, retires or places changes, and not when told what it knows', () => {
    let changes = 0;
    const group = new Membership(id('me'), () => changes++);
    group.join(id('peer'));
    expect(changes).toBe(1);
    group.join(id('peer'));
    group.join(id('me'));
    expect(changes).toBe(1);
    group.livesAt(id('peer'), 'host:1');
    expect(changes).toBe(2);
    group.livesAt(id('peer'), 'host:1');
    group.heardGroup(group.group());
    expect(changes).toBe(2);
    expect(group.reached(id('peer'), 'host:1')).toEqual([]);
    expect(changes).toBe(2);
    expect(group.reached(id('new'), 'host:1')).toEqual(['peer']);
    expect(changes).toBeGreaterThan(2);
    // What it says of its group, heard by a hub that restarted knowing nothing, is the same group.
    const restarted = new Membership(id('me'));
    restarted.heardGroup(group.group());
    expect(restarted.group()).toEqual(group.group());
  });
});
