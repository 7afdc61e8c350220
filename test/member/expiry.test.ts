import { describe, expect, it } from 'vitest';
import { MAX_TTL_MS, type Change, type Collective } from '../../lib/index.js';
import type { Member } from '../../lib/member/member.js';
import { memoryMembers } from '../helpers/members.js';
import { waitFor } from '../helpers/wait.js';

// Expiry through the API of a hub and of its members (over memory links): what each call arms,
// clears and keeps, what reads and watchers see when a value expires, and bad input. Short ttls
// are awaited with deadlines; long ones show that something is still there.

const memory = memoryMembers();
const hub = memory.hub;

async function member(of: Collective): Promise<Member> {
  const created = memory.member(of);
  await created.ready();
  return created;
}

const MINUTE = 60_000;

describe('expiry on a hub', () => {
  it('set { ttl } arms an expiry; the value disappears when it comes, with one expire change', async () => {
    const h = hub();
    const changes: Change[] = [];
    const seen: unknown[] = [];
    h.on('change', (change) => changes.push(change));
    h.watch('sessions', (value) => seen.push(value));
    await h.set('sessions.abc', { user: 42 }, { ttl: 150 });
    const left = h.ttl('sessions.abc')!;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(150);
    expect(h.ttl('sessions.abc.user')).toBe(left); // the value below expires with its subtree
    expect(h.ttl('sessions')).toBeUndefined(); // the parent does not expire
    expect(h.get('sessions.abc.user')).toBe(42);
    await waitFor(() => h.get('sessions.abc') === undefined, 3000, 'the session to expire');
    expect(h.ttl('sessions.abc')).toBeUndefined();
    await waitFor(() => changes.some((c) => c.op === 'expire'), 3000, 'the expire change');
    expect(changes.filter((c) => c.op === 'expire')).toEqual([expect.objectContaining({ path: 'sessions.abc', op: 'expire', origin: h.id })]);
    expect(seen.at(-1)).toEqual({});
  });

  it('set without ttl clears the expiry, { keepTtl } keeps it', async () => {
    const h = hub();
    await h.set('a', 1, { ttl: MINUTE });
    await h.set('a', 2, { keepTtl: true });
    expect(h.ttl('a')).toBeGreaterThan(MINUTE - 5000);
    expect(h.get('a')).toBe(2);
    await h.set('a', 3);
    expect(h.ttl('a')).toBeUndefined();
  });

  it('expire re-arms what is there and says so; nothing there, nothing is armed', async () => {
    const h = hub();
    expect(await h.expire('ghost', MINUTE)).toBe(false);
    expect(h.ttl('ghost')).toBeUndefined();
    await h.set('ghost', 'now here');
    expect(h.ttl('ghost')).toBeUndefined(); // the refused expire left nothing behind
    await h.set('s', 'v', { ttl: 2 * MINUTE });
    expect(await h.expire('s', MINUTE)).toBe(true);
    expect(h.ttl('s')).toBeLessThanOrEqual(MINUTE);
  });

  it('expire(null) keeps a value past its old expiry', async () => {
    const h = hub();
    await h.set('keep', 'me', { ttl: 100 });
    expect(await h.expire('keep', null)).toBe(true);
    expect(h.ttl('keep')).toBeUndefined();
    await h.set('probe', 1, { ttl: 200 }); // a later expiry that must come and go first
    await waitFor(() => h.get('probe') === undefined, 3000, 'the probe to expire');
    expect(h.get('keep')).toBe('me');
  });

  it('incr { ttl } arms a fixed window: only the first write of the window arms it', async () => {
    const h = hub();
    await h.incr('rate.ip', 1, { ttl: MINUTE });
    const first = h.ttl('rate.ip')!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.incr('rate.ip', 1, { ttl: 10 * MINUTE });
    await h.append('log', 'x', { ttl: MINUTE });
    await h.append('log', 'y', { ttl: 10 * MINUTE });
    expect(h.get('rate.ip')).toBe(2);
    expect(h.ttl('rate.ip')).toBeLessThanOrEqual(first);
    expect(h.ttl('log')).toBeLessThanOrEqual(MINUTE);
    expect(h.get('log')).toEqual(['x', 'y']);
  });

  it('a window expires and the next incr starts a new one at 1', async () => {
    const h = hub();
    await h.incr('rate.ip', 1, { ttl: 100 });
    await h.incr('rate.ip', 1, { ttl: 100 });
    await waitFor(() => h.get('rate.ip') === undefined, 3000, 'the window to end');
    await h.incr('rate.ip', 1, { ttl: MINUTE });
    expect(h.get('rate.ip')).toBe(1);
    expect(h.ttl('rate.ip')).toBeGreaterThan(MINUTE - 5000);
  });

  it('an expiry covers the whole subtree at its path', async () => {
    const h = hub();
    await h.set('cache', { a: { b: 1 }, c: [1, 2] }, { ttl: 100 });
    await h.set('cache.a.d', 2, { keepTtl: true });
    await h.set('other', 1);
    await waitFor(() => h.get('cache') === undefined, 3000, 'the cache to expire');
    expect(h.get()).toEqual({ other: 1 });
  });

  it.each([
    ['negative', -1],
    ['zero', 0],
    ['NaN', Number.NaN],
    ['not an integer', 1.5],
    ['beyond the maximum', MAX_TTL_MS + 1],
    ['a string', '1000'],
  ])('refuses a ttl that is %s, synchronously, with ERR_COLLECTIVE_INVALID_TTL', (_, ttl) => {
    const h = hub();
    const code = expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_TTL', name: 'RangeError' });
    expect(() => h.set('a', 1, { ttl: ttl as number })).toThrow(code);
    expect(() => h.incr('a', 1, { ttl: ttl as number })).toThrow(code);
    expect(() => h.expire('a', ttl as number)).toThrow(code);
    expect(h.get()).toEqual({});
  });

  it('refuses keepTtl with a ttl, and keepTtl on incr', () => {
    const h = hub();
    expect(() => h.set('a', 1, { ttl: 5, keepTtl: true })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_OPTION' }));
    expect(() => h.incr('a', 1, { keepTtl: true } as never)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_OPTION' }));
  });

  it('accepts the largest ttl', async () => {
    const h = hub();
    await h.set('forever-ish', 1, { ttl: MAX_TTL_MS });
    expect(h.ttl('forever-ish')).toBeGreaterThan(MAX_TTL_MS - MINUTE);
  });
});

describe('expiry through members', () => {
  it('a ttl set in one member disappears in the hub and every member, each telling its watchers once', async () => {
    const h = hub();
    const [a, b] = [await member(h), await member(h)];
    const expired = new Map<string, number>();
    for (const [name, target] of [['hub', h], ['a', a], ['b', b]] as const) {
      expired.set(name, 0);
      target.watch('sessions', (_, change) => {
        if (change.op === 'expire') expired.set(name, expired.get(name)! + 1);
      });
    }
    await a.set('sessions.x', { user: 1 }, { ttl: 200 });
    await waitFor(() => b.get('sessions.x.user') === 1, 2000, 'b to see the session');
    expect(b.ttl('sessions.x')).toBeGreaterThan(0);
    expect(h.ttl('sessions.x')).toBeLessThanOrEqual(200);
    await waitFor(() => [h.get('sessions.x'), a.get('sessions.x'), b.get('sessions.x')].every((v) => v === undefined), 3000, 'the session to expire everywhere');
    await waitFor(() => [...expired.values()].every((n) => n === 1), 3000, 'every watcher to hear of it');
    await h.flush(); // the hub's horizon reaches the members: the expiry is fired for good
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Object.fromEntries(expired)).toEqual({ hub: 1, a: 1, b: 1 });
  });

  it('expire from a member is decided by the hub: false when nothing is there', async () => {
    const h = hub();
    const m = await member(h);
    expect(await m.expire('missing', MINUTE)).toBe(false);
    await m.set('here', 1);
    expect(await m.expire('here', MINUTE)).toBe(true);
    expect(m.ttl('here')).toBeGreaterThan(MINUTE - 5000);
    expect(h.ttl('here')).toBeGreaterThan(MINUTE - 5000);
    expect(await m.expire('here', null)).toBe(true);
    expect(m.ttl('here')).toBeUndefined();
    expect(h.ttl('missing')).toBeUndefined();
  });

  it('incr { ttl } from racing members counts exactly and arms once', async () => {
    const h = hub();
    const members = [await member(h), await member(h), await member(h)];
    await Promise.all(members.flatMap((m) => Array.from({ length: 100 }, () => m.incr('rate.k', 1, { ttl: MINUTE }))));
    expect(h.get('rate.k')).toBe(300);
    await waitFor(() => members.every((m) => m.get('rate.k') === 300), 2000, 'every member to count 300');
    const ttls = members.map((m) => m.ttl('rate.k')!);
    for (const left of ttls) expect(Math.abs(left - h.ttl('rate.k')!)).toBeLessThan(1000);
  });

  it('set without ttl from a member clears the expiry; keepTtl keeps it', async () => {
    const h = hub();
    const m = await member(h);
    await m.set('a', 1, { ttl: MINUTE });
    await m.set('a', 2, { keepTtl: true });
    expect(m.ttl('a')).toBeGreaterThan(0);
    await waitFor(() => h.get('a') === 2, 2000, 'the hub to hold 2');
    expect(h.ttl('a')).toBeGreaterThan(0);
    await m.set('a', 3);
    expect(m.ttl('a')).toBeUndefined();
    await waitFor(() => h.get('a') === 3, 2000, 'the hub to hold 3');
    expect(h.ttl('a')).toBeUndefined();
  });

  it('a member that joins later gets the armed expiries in its snapshot', async () => {
    const h = hub();
    await h.set('s', 'v', { ttl: 300 });
    const late = await member(h);
    expect(late.get('s')).toBe('v');
    expect(late.ttl('s')).toBeGreaterThan(0);
    await waitFor(() => late.get('s') === undefined, 3000, 'the late member to see it expire');
  });

  it("a member sheds what expired once its hub's GC horizon passes it, with no write after", async () => {
    const h = hub();
    const m = await member(h);
    for (let i = 0; i < 500; i++) void h.set(`cache.k${i}`, { i }, { ttl: 100 });
    await h.set('kept', true);
    await waitFor(() => m.get('kept') === true, 2000, 'the member to hold the writes');
    expect(m.stats().metadata.nodes).toBeGreaterThan(500);
    await waitFor(() => m.stats().metadata.nodes === 1, 5000, 'the member to fold the expired keys away');
    expect(m.get('cache')).toEqual({});
    expect(m.get('kept')).toBe(true);
  });

  it('refuses a bad ttl in a member synchronously, sending nothing', async () => {
    const h = hub();
    const m = await member(h);
    expect(() => m.set('a', 1, { ttl: -5 })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_TTL' }));
    expect(() => m.expire('a', 2.5)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_TTL' }));
    expect(() => m.append('a', 1, { ttl: MAX_TTL_MS + 1 })).toThrow(RangeError);
    await m.flush();
    expect(h.get()).toEqual({});
  });
});
