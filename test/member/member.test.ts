import { describe, expect, it, vi } from 'vitest';
import { Collective } from '../../lib/index.js';
import { MemoryLink } from '../../lib/links/memory.js';
import { Member } from '../../lib/member/member.js';
import { MEMBER_PROTOCOL_VERSION } from '../../lib/wire/member.js';
import { memoryMembers } from '../helpers/members.js';
import { waitFor } from '../helpers/wait.js';

const { hub, member, onCleanup } = memoryMembers();

describe('Member over a memory link', () => {
  it('is ready once it holds the hub snapshot; reading earlier throws ERR_COLLECTIVE_NOT_READY', async () => {
    const h = hub();
    await h.set('config', { mode: 'fast' });
    const m = member(h);
    expect(() => m.get('config')).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_NOT_READY' }));
    await m.ready();
    expect(m.get('config.mode')).toBe('fast');
    expect(Object.isFrozen(m.get('config'))).toBe(true);
    expect(h.stats().members).toBe(1);
  });

  it('reads its own writes at once, and the write reaches the hub and other members', async () => {
    const h = hub();
    const [a, b] = [member(h), member(h)];
    await Promise.all([a.ready(), b.ready()]);
    const written = a.set('users.1', { name: 'ada' });
    expect(a.get('users.1.name')).toBe('ada'); // before the hub confirmed it
    expect(a.get()).toEqual({ users: { 1: { name: 'ada' } } });
    await written;
    expect(h.get('users.1.name')).toBe('ada');
    await waitFor(() => b.get('users.1.name') === 'ada', 2000, 'b to see the write');
  });

  it('counts exactly and appends in one order under concurrency', async () => {
    const h = hub();
    const members = [member(h), member(h), member(h)];
    await Promise.all(members.map((m) => m.ready()));
    await Promise.all(
      members.flatMap((m, who) => Array.from({ length: 200 }, (_, i) => [m.incr('hits'), m.append('log', `${who}:${i}`)]).flat()),
    );
    await Promise.all(members.map((m) => m.flush()));
    expect(h.get('hits')).toBe(600);
    await waitFor(() => members.every((m) => m.get('hits') === 600), 2000, 'every member to count 600');
    const logs = members.map((m) => m.get('log'));
    expect((logs[0] as string[]).length).toBe(600);
    expect(logs[1]).toEqual(logs[0]);
    expect(logs[2]).toEqual(logs[0]);
    expect(h.get('log')).toEqual(logs[0]);
  });

  it('cas is decided by the hub: one winner per value among racing members', async () => {
    const h = hub();
    const members = Array.from({ length: 5 }, () => member(h));
    await Promise.all(members.map((m) => m.ready()));
    const results = await Promise.all(members.map((m, i) => m.cas('lock.owner', null, `m${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(h.get('lock.owner')).toBe(`m${winner}`);
  });

  it('watch fires in a member for a change made elsewhere, once', async () => {
    const h = hub();
    const [a, b] = [member(h), member(h)];
    await Promise.all([a.ready(), b.ready()]);
    const seen = vi.fn();
    b.watch('jobs', seen);
    await a.set('jobs.1', 'queued');
    await h.set('jobs.2', 'queued');
    await waitFor(() => seen.mock.calls.length >= 2, 2000, 'two watch calls');
    await a.set('jobs.1', 'queued'); // the same value: no change, no call
    await a.flush();
    await h.set('jobs.3', 'x');
    await waitFor(() => seen.mock.calls.length >= 3, 2000, 'a third watch call');
    expect(seen.mock.calls.map(([, change]) => change.path)).toEqual(['jobs.1', 'jobs.2', 'jobs.3']);
    expect(seen.mock.calls[0]![1].origin).toBe(h.id);
  });

  it('a member joining while writes are in flight counts each write once', async () => {
    const h = hub();
    const a = member(h);
    await a.ready();
    const writes = Array.from({ length: 100 }, () => a.incr('n'));
    const late = member(h);
    await late.ready();
    await Promise.all(writes);
    await waitFor(() => late.get('n') === 100, 2000, 'the late member to see 100');
    await a.incr('n');
    await waitFor(() => late.get('n') === 101, 2000, 'the late member to see 101');
  });

  it('ready() rejects after the timeout when no hub answers, saying so', async () => {
    const [, memberEnd] = MemoryLink.pair();
    const m = new Member(memberEnd, { readyTimeout: 100 });
    onCleanup(() => m.close());
    await expect(m.ready()).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_TIMEOUT', message: expect.stringMatching(/no collective hub answered within 100 ms/) });
  });

  it('when the hub goes away, pending writes reject with ERR_COLLECTIVE_CLOSED and nothing crashes', async () => {
    const h = new Collective();
    const m = member(h);
    await m.ready();
    const pending = m.set('x', 1);
    void m.incr('y'); // never awaited: must not become an unhandled rejection
    await h.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_CLOSED' });
    await expect(m.set('z', 1)).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_CLOSED' });
    expect(m.stats().ready).toBe(false);
  });

  it('throws bad input synchronously and sends nothing', async () => {
    const h = hub();
    const m = member(h);
    await m.ready();
    expect(() => m.set('a..b', 1)).toThrow(TypeError);
    expect(() => m.set('a', new Map() as never)).toThrow(/Invalid value for `a`/);
    expect(() => m.incr('a', Number.NaN)).toThrow(TypeError);
    await m.flush();
    expect(h.stats().opsApplied).toBe(0);
  });
});

describe('own writes in the stream', () => {
  it('a writer gets its plain writes back as intent ids, every other member the items, in one order', async () => {
    const h = hub();
    const [a, b] = [member(h), member(h)];
    await Promise.all([a.ready(), b.ready()]);
    // A third member on a raw link, to read the stream as it travels.
    const [hubEnd, raw] = MemoryLink.pair();
    h.attachMember(hubEnd);
    const seen: { s?: unknown[] }[] = [];
    raw.on('message', (message) => seen.push(message as { s?: unknown[] }));
    raw.send({ t: 'hello', v: MEMBER_PROTOCOL_VERSION });
    await waitFor(() => seen.length > 0, 2000, 'the raw member snapshot');
    raw.send([1, { k: 'set', p: ['r', 'x'], v: 1 }, { k: 'cas', p: ['n'], v: 2, e: null }, { k: 'append', p: ['log'], v: 'raw' }]);
    const changes: string[] = [];
    a.watch('a', (value, change) => changes.push(`${change.op} ${JSON.stringify(value)}`));
    await a.set('a.x', 1);
    const length = (list: unknown): number | undefined => (Array.isArray(list) ? list.length : undefined);
    await waitFor(() => b.get('r.x') === 1 && length(b.get('log')) === 1 && a.get('n') === 2, 2000, 'everything everywhere');
    await Promise.all([a.append('log', 'a'), b.append('log', 'b'), a.delete('a.x'), b.incr('n')]);
    await waitFor(() => length(b.get('log')) === 3 && length(a.get('log')) === 3, 2000, 'the appends everywhere');
    expect(a.get('log')).toEqual(h.get('log'));
    expect(b.get('log')).toEqual(h.get('log'));
    expect([a.get('n'), b.get('n'), h.get('n')]).toEqual([3, 3, 3]);
    expect(a.get('a')).toEqual({});
    expect(changes).toEqual(['set {"x":1}', 'delete {}']); // its own writes, applied from its pending ones
    // What the raw member got back of its own: the plain set and append as ids 1 and 3; the cas
    // in full, as the set the hub decided (a plain write: [code, path, value]).
    const entries = seen.flatMap((message) => message.s ?? []);
    expect(entries.filter((entry) => typeof entry === 'number')).toEqual([1, 3]);
    expect(entries).toContainEqual([0, 'n', 2]);
    // Once an expiry may be armed, items carry their time: own writes come back as [id, time].
    raw.send([4, { k: 'set', p: ['t'], v: 1, t: 60_000 }, { k: 'set', p: ['u'], v: 2 }]);
    // An own write with its time is [id, time]; a plain write of another is an array of 3 or 4.
    const ownWithTime = (entry: unknown): boolean => Array.isArray(entry) && entry.length === 2;
    await waitFor(() => seen.flatMap((message) => message.s ?? []).some(ownWithTime), 2000, 'the own write with its time');
    const later = seen.flatMap((message) => message.s ?? []);
    expect(later).toContainEqual(expect.objectContaining({ k: 'set', p: ['t'], v: 1, x: expect.any(Number), w: expect.any(Number) }));
    expect(later.filter(ownWithTime)).toEqual([[5, expect.any(Number)]]);
    await a.set('a.y', 3);
    await waitFor(() => b.get('a.y') === 3 && a.ttl('t') !== undefined, 2000, 'a later write everywhere');
    expect(a.get('a.y')).toBe(3);
  });

  it('a hub that names a write its member does not hold loses that member, which rejects what it waits for', async () => {
    const [hubEnd, memberEnd] = MemoryLink.pair();
    const m = new Member(memberEnd);
    hubEnd.on('message', (message) => {
      if ((message as { t: string }).t === 'hello') {
        hubEnd.send({ t: 'snapshot', v: MEMBER_PROTOCOL_VERSION, hub: 'h', you: 1, at: 0, w: 0, limits: { maxDepth: 32, maxValueBytes: 1024 }, tree: {} });
      } else if (Array.isArray(message)) hubEnd.send({ t: 'stream', n: 1, s: [5] }); // a write
    });
    await m.ready();
    await expect(m.set('a', 1)).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_CLOSED' });
    expect(m.stats().ready).toBe(false);
    hubEnd.close();
  });

  it.each([
    ['another member’s write', (_intent: number): unknown[] => [[0, 'b', 2]]],
    ['its own write, named by its id', (intent: number): unknown[] => [intent]],
  ])('a hub whose stream skips a position (%s) is asked for a snapshot, and nothing of the item is applied', async (_what, items) => {
    const [hubEnd, memberEnd] = MemoryLink.pair();
    const m = new Member(memberEnd);
    let hellos = 0;
    hubEnd.on('message', (message) => {
      if ((message as { t: string }).t === 'hello') {
        hellos++;
        hubEnd.send({ t: 'snapshot', v: MEMBER_PROTOCOL_VERSION, hub: 'h', you: 1, at: 0, w: 0, limits: { maxDepth: 32, maxValueBytes: 1024 }, tree: {} });
      } else if (Array.isArray(message)) {
        // The write's item at position 2: position 1 never came.
        hubEnd.send({ t: 'stream', n: 2, s: items(message[0] as number) });
      }
    });
    await m.ready();
    void m.set('a', 1);
    await waitFor(() => hellos === 2, 2000, 'a second hello');
    expect(m.position).toBe(0);
    expect(m.confirmed().tree).toEqual({});
    hubEnd.close();
  });
});

describe('the hub facing a broken member', () => {
  it('drops a link that sends garbage, counts it, and keeps serving the others', async () => {
    const h = hub();
    const good = member(h);
    await good.ready();
    const [hubEnd, rogue] = MemoryLink.pair();
    h.attachMember(hubEnd);
    const closed = new Promise((resolve) => rogue.once('close', resolve));
    rogue.send({ t: 'bogus' });
    await closed;
    expect(h.stats().rejectedMessages).toBe(1);
    await good.set('still', 'fine');
    expect(h.get('still')).toBe('fine');
  });

  it('refuses a bad intent with an error reply, applying nothing and keeping the link', async () => {
    const h = hub();
    const [hubEnd, raw] = MemoryLink.pair();
    h.attachMember(hubEnd);
    const messages: unknown[] = [];
    raw.on('message', (message) => messages.push(message));
    raw.send({ t: 'hello', v: MEMBER_PROTOCOL_VERSION });
    raw.send([1, { k: 'set', p: ['__proto__', 'polluted'], v: 1 }, { k: 'set', p: ['ok'], v: 2 }]);
    await waitFor(() => h.get('ok') === 2, 2000, 'the good intent');
    await waitFor(() => messages.some((m) => (m as { r?: unknown[] }).r !== undefined), 2000, 'the error reply');
    const reply = messages.find((m) => (m as { r?: unknown[] }).r !== undefined) as { r: { i: number; ok: boolean; error: string }[] };
    expect(reply.r[0]).toMatchObject({ i: 1, ok: false, error: expect.stringMatching(/__proto__/) });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(h.stats()).toMatchObject({ rejectedIntents: 1, members: 1 });
  });
});

describe('who a member is, as its hub lists it', () => {
  it('lists each member with the pid and thread id its hello told, its writes, and what is in flight', async () => {
    const h = hub();
    const worker = member(h);
    const thread = member(h, { self: { pid: 77, thread: 5 } });
    await Promise.all([worker.ready(), thread.ready()]);
    await Promise.all([worker.set('w', 1), worker.incr('n'), thread.set('t', 1)]);
    const list = h.stats().memberList;
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ kind: 'worker', pid: process.pid, thread: undefined, writes: 2, pending: 0, synced: true, link: 'memory:a' });
    expect(list[1]).toMatchObject({ kind: 'thread', pid: 77, thread: 5, writes: 1, pending: 0, synced: true });
    expect(list[0]!.since).toBeLessThanOrEqual(Date.now());
    await thread.close();
    await waitFor(() => h.stats().memberList.length === 1, 2000, 'the thread to leave the list');
  });
});

