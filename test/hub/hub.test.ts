import { afterEach, describe, expect, it, vi } from 'vitest';
import { Collective } from '../../lib/index.js';

const hubs: Collective[] = [];
function hub(...args: ConstructorParameters<typeof Collective>): Collective {
  const created = new Collective(...args);
  hubs.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()));
});

describe('Collective (a hub in one process)', () => {
  it('calls the seed callback with the hub, asynchronously', async () => {
    const local = { host: 'localhost', port: 0 };
    const ready = new Promise<Collective>((resolve) => hub(local, [local], resolve));
    const got = await ready;
    await got.set('foo.bar', 'quz');
    expect(got.get('foo.bar')).toBe('quz');
  });

  it('Collective.start resolves with a working hub', async () => {
    const started = await Collective.start({});
    hubs.push(started);
    await started.append('log', 1);
    expect(started.get('log')).toEqual([1]);
  });

  it('offers the whole store API', async () => {
    const h = hub();
    await h.set('a.b', { c: 1 });
    await h.incr('n', 5);
    await h.decr('n', 2);
    await h.append('list', 'x');
    await h.delete('a.b.c');
    expect(await h.cas('lock', null, 'me')).toBe(true);
    expect(await h.cas('lock', null, 'you')).toBe(false);
    await h.flush();
    expect(h.get()).toEqual({ a: { b: {} }, n: 3, list: ['x'], lock: 'me' });
  });

  it('emits change and runs watchers', async () => {
    const h = hub();
    const changes: string[] = [];
    h.on('change', (change) => changes.push(`${change.op}:${change.path}`));
    const watcher = vi.fn();
    h.watch('users', watcher);
    await h.set('users.1', 'ada');
    await h.incr('other');
    expect(changes).toEqual(['set:users.1', 'incr:other']);
    expect(watcher).toHaveBeenCalledWith({ 1: 'ada' }, expect.objectContaining({ path: 'users.1', origin: h.id }));
    expect(h.stats()).toMatchObject({ opsApplied: 2, opsLocal: 2, watchers: 1 });
  });

  it('throws bad input synchronously, naming the path', () => {
    const h = hub();
    // The compiler refuses a function too (JsonInput); the run-time check is for JavaScript callers.
    expect(() => h.set('a', (() => 1) as never)).toThrow(/Invalid value for `a`/);
    expect(() => h.set('users.1', { at: new Date() } as never)).toThrow(/Invalid value for `users\.1`\.at/);
    expect(() => h.append(['users', '2'], [1n] as never)).toThrow(/Invalid value for `users\.2`\[0\]/);
    expect(() => h.set('a..b', 1)).toThrow(TypeError);
    expect(() => h.decr('a', 'x' as unknown as number)).toThrow(TypeError);
    expect(() => new Collective({} as never)).toThrow(/local address/);
  });

  it('refuses to listen on a non-loopback address without a secret, unless told insecure', async () => {
    expect(() => hub({ host: '0.0.0.0', port: 0 }, [])).toThrow(/Refusing to listen on 0\.0\.0\.0 without a `secret`/);
    const open = await Collective.start({ listen: { host: '0.0.0.0', port: 0 }, insecure: true });
    hubs.push(open);
    expect(open.port).toBeGreaterThan(0);
    const guarded = await Collective.start({ listen: { host: '0.0.0.0', port: 0 }, secret: 's' });
    hubs.push(guarded);
    expect(() => hub(undefined, [{ port: 99999 }])).toThrow(/every peer to be \{ host, port \}/);
    expect(() => hub(undefined, [], { secret: '' })).toThrow(/non-empty string/);
  });

  it('refuses numeric options that are not integers or are too small, naming them', () => {
    expect(() => hub(undefined, [], { heartbeatMs: 0 })).toThrow(/`heartbeatMs` to be an integer of at least 1, got `0`/);
    expect(() => hub(undefined, [], { heartbeatMs: 0 })).toThrow(RangeError);
    expect(() => hub(undefined, [], { maxFrameBytes: 100 })).toThrow(/`maxFrameBytes` to be an integer of at least 65536/);
    expect(() => hub(undefined, [], { antiEntropyMs: '5' as unknown as number })).toThrow(TypeError);
    expect(() => hub(undefined, [], { maxClockSkewMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_OPTION' }));
  });

  it('refuses a bad `redis` option, and both tiers between hubs at once, naming what is wrong', () => {
    const tcp = { host: '127.0.0.1', port: 0 };
    expect(() => hub(tcp, [], { redis: { group: 'g' } })).toThrow(/through `redis` or through `listen`\/`peers`, not both/);
    expect(() => hub(undefined, [{ host: '127.0.0.1', port: 7000 }], { redis: { group: 'g' } })).toThrow(/not both/);
    expect(() => hub(undefined, [], { redis: { group: 'a:b' } })).toThrow(/`redis.group` to be 1 to 64 letters/);
    expect(() => hub(undefined, [], { redis: {} as never })).toThrow(/`redis.group`/);
    expect(() => hub(undefined, [], { redis: { group: 'g', url: 'http://x' } })).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => hub(undefined, [], { redis: { group: 'g', name: '' } })).toThrow(/`redis.name`/);
    expect(() => hub(undefined, [], { redis: { group: 'g', announceMs: 0 } })).toThrow(RangeError);
    expect(() => hub(undefined, [], { redis: { group: 'g', client: 'x' as never } })).toThrow(/node-redis options/);
  });

  it('start() rejects when the port is taken', async () => {
    const first = await Collective.start({ listen: { host: '127.0.0.1', port: 0 } });
    hubs.push(first);
    await expect(Collective.start({ listen: { host: '127.0.0.1', port: first.port! } })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('after close, use throws ERR_COLLECTIVE_CLOSED and an unawaited flush does not crash', async () => {
    const h = hub();
    await h.close();
    expect(() => h.get('x')).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_CLOSED' }));
    expect(() => h.set('x', 1)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_CLOSED' }));
    void h.flush(); // nobody awaits this rejection: it must not become an unhandled rejection
    await expect(h.flush()).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_CLOSED' });
  });

  it('keeps no op records alone, and folds away the nodes deleted paths leave, so it stays bounded by the data', async () => {
    const h = hub();
    for (let i = 0; i < 30_000; i++) await h.incr(`hits.${i % 10}`);
    expect(h.stats().metadata.ops).toBe(0);
    expect(h.get('hits.3')).toBe(3000);
    // 40k paths written and deleted: each leaves a node until a fold, every 10k writes.
    for (let i = 0; i < 20_000; i++) {
      await h.set(['churn', String(i)], i);
      await h.delete(['churn', String(i)]);
    }
    await vi.waitFor(() => expect(h.stats().gc.runs).toBeGreaterThan(0), { timeout: 5000 });
    await vi.waitFor(() => expect(h.stats().metadata.nodes).toBeLessThan(10_100), { timeout: 5000 });
    expect(h.get('churn')).toEqual({});
  });
});
