import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Collective } from '../../lib/index.js';
import { MemoryLink } from '../../lib/links/memory.js';
import { Member } from '../../lib/member/member.js';
import { MEMBER_PROTOCOL_VERSION } from '../../lib/wire/member.js';
import { memoryMembers } from '../helpers/members.js';

// A member keeps the values it read by string path while its confirmed state does not change
// (lib/member/read-cache.ts). Reads by an array path take no cache: at every moment, both must
// read the same, whatever came from the hub, whatever the member wrote, whatever time it is.

const runs = Math.max(20, Math.floor(Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000) / 20));
const memory = memoryMembers();
const PATHS = ['a', 'a.b', 'a.b.c', 'x', 'x.y', 'n'];
// More reads of one path than the misses after which it gets an entry (8).
const READS_TO_CACHE = 10;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// Turns until `done` holds; fails after `turns` of them (timers may be faked: no setTimeout).
async function turnsUntil(done: () => boolean, what: string, turns = 1000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (done()) return;
    await turn();
  }
  throw new Error(`no ${what} after ${turns} turns`);
}

function expectSameReads(member: Member): void {
  for (const path of PATHS) {
    const uncached = member.get(path.split('.'));
    for (let i = 0; i < READS_TO_CACHE; i++) expect(member.get(path)).toEqual(uncached);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('a member’s reads by string path, cached', () => {
  const write = fc.record({
    by: fc.constantFrom('hub', 'member'),
    kind: fc.constantFrom('set', 'delete', 'incr', 'append'),
    path: fc.constantFrom(...PATHS),
    value: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('s', { k: 1 }, [1])),
    turns: fc.integer({ min: 0, max: 3 }),
  });

  it('read what an uncached read does, as the hub’s changes and the member’s own writes come in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 25 }), async (writes) => {
        const hub = new Collective();
        const [hubEnd, memberEnd] = MemoryLink.pair();
        hub.attachMember(hubEnd);
        const member = new Member(memberEnd);
        try {
          await member.ready();
          for (const { by, kind, path, value, turns } of writes) {
            const target = by === 'hub' ? hub : member;
            // Not awaited: a member's write is pending while its reads go on.
            const done =
              kind === 'set' ? target.set(path, value) : kind === 'delete' ? target.delete(path) : kind === 'incr' ? target.incr(path, 1) : target.append(path, value);
            done.catch(() => undefined);
            expectSameReads(member);
            for (let i = 0; i < turns; i++) await turn();
            expectSameReads(member);
          }
          await turnsUntil(() => PATHS.every((path) => JSON.stringify(member.get(path)) === JSON.stringify(hub.get(path))), 'member in step with its hub');
          expectSameReads(member);
        } finally {
          await member.close();
          await hub.close();
        }
      }),
      { numRuns: runs },
    );
  });

  it('hides a value whose expiry came by the read time, before the member’s timer takes it', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'], now: 1_000_000 });
    const hub = memory.hub();
    const member = memory.member(hub);
    await member.ready();
    await hub.set('session', 'v', { ttl: 1000 });
    await turnsUntil(() => member.get(['session']) === 'v', 'session on the member');
    for (let i = 0; i < READS_TO_CACHE; i++) expect(member.get('session')).toBe('v');
    vi.setSystemTime(1_000_000 + 1500); // no timer runs: only the time moved
    await turn(); // a new turn, which reads the clock again
    expect(member.get(['session'])).toBeUndefined();
    expect(member.get('session')).toBeUndefined();
  });

  it('refuses a bad string path whether or not it was read before', () => {
    const hub = memory.hub();
    const member = memory.member(hub);
    return member.ready().then(() => {
      expect(() => member.get('a..b')).toThrow(TypeError);
      for (let i = 0; i < READS_TO_CACHE; i++) member.get('ok.path');
      expect(() => member.get('a.__proto__')).toThrow(TypeError);
    });
  });

  it('reads a snapshot adopted again, under the limits it brings, not what it read before', async () => {
    const [hubEnd, memberEnd] = MemoryLink.pair();
    const member = new Member(memberEnd);
    memory.onCleanup(() => member.close());
    const snapshot = (tree: unknown, maxDepth: number): unknown =>
      hubEnd.send({ t: 'snapshot', v: MEMBER_PROTOCOL_VERSION, hub: 'h', you: 1, at: 0, w: 0, limits: { maxDepth, maxValueBytes: 1024 }, tree });
    hubEnd.on('message', (message) => {
      if ((message as { t: string }).t === 'hello') snapshot({ a: { b: { c: 1 } }, x: 1 }, 32);
    });
    await member.ready();
    for (let i = 0; i < READS_TO_CACHE; i++) expect(member.get('a.b.c')).toBe(1);
    for (let i = 0; i < READS_TO_CACHE; i++) expect(member.get('x')).toBe(1);
    snapshot({ a: { b: { c: 2 } }, x: 2 }, 2); // the hub restarted with other limits
    await turnsUntil(() => member.get(['x']) === 2, 'the second snapshot');
    expect(member.get('x')).toBe(2);
    expect(() => member.get('a.b.c')).toThrow(RangeError);
    hubEnd.close();
  });
});
