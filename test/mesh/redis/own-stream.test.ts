import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../lib/core/clock.js';
import { Replica } from '../../../lib/core/replica.js';
import { OwnStream } from '../../../lib/mesh/redis/own-stream.js';
import type { GroupStore } from '../../../lib/mesh/redis/store.js';
import { decodeEntry } from '../../../lib/wire/redis.js';
import { VirtualTime } from '../../helpers/virtual-time.js';

// Just what OwnStream runs: appends are recorded, and the stream's last id is what the test says
// Redis holds (it "loses" entries by saying less).
function fakeStore(): GroupStore & { appended: { id: string; fields: readonly string[] }[]; lastIdIs: string | undefined } {
  const store = {
    ready: true,
    appended: [] as { id: string; fields: readonly string[] }[],
    lastIdIs: undefined as string | undefined,
    onReady: () => undefined,
    append: async (_key: string, id: string, fields: readonly (string | Buffer)[]) => {
      // Bytes come back as text, as from Redis.
      store.appended.push({ id, fields: fields.map(String) });
      store.lastIdIs = id;
      return true;
    },
    range: async () => [],
    lastId: async () => store.lastIdIs,
  };
  return store as unknown as ReturnType<typeof fakeStore>;
}

const LIMITS = { maxDepth: 32, maxValueBytes: 1 << 20, maxEntryBytes: 1 << 24 };

// A hub's replica and own stream on the fake store, resumed (the stream found empty).
async function resumedStream(maxQueuedOps: number): Promise<{ replica: Replica; store: ReturnType<typeof fakeStore>; own: OwnStream }> {
  const replica = new Replica({ id: 'aaaaaaaaaaaa' as NodeId });
  const store = fakeStore();
  const own = new OwnStream(replica, store, 'stream', { maxQueuedOps, appendSpacingMs: 0, limits: LIMITS }, new VirtualTime(1000).clock(() => 0), () => undefined);
  await own.resume();
  return { replica, store, own };
}

describe('a hub\'s own stream', () => {
  it('keeps appended ops as their entries until every member read them, and appends a lost entry again as it was', async () => {
    const { replica, store, own } = await resumedStream(1000);

    for (let i = 0; i < 10; i++) own.record(replica.incr('hits'));
    await own.flush();
    for (let i = 0; i < 5; i++) own.record(replica.incr('hits'));
    await own.flush();
    expect(store.appended.map((entry) => entry.id)).toEqual(['10-0', '15-0']);
    expect(own.keptOps).toBe(15);

    // Every member read the first entry: its ops are no longer kept.
    own.seenByAll(10);
    expect(own.keptOps).toBe(5);

    // Redis restarted and lost the second entry: it is appended again, the same.
    store.lastIdIs = '10-0';
    own.reconnected();
    await own.resume();
    expect(store.appended.map((entry) => entry.id)).toEqual(['10-0', '15-0', '15-0']);
    expect(store.appended[2]!.fields).toEqual(store.appended[1]!.fields);
    expect(own.rebuilt).toBe(0);

    // A member that read only part of an entry keeps it whole.
    own.seenByAll(12);
    expect(own.keptOps).toBe(5);
    own.seenByAll(15);
    expect(own.keptOps).toBe(0);
  });

  it('keeps at most maxQueuedOps while Redis takes nothing, and rebuilds what it let go from the replica', async () => {
    const { replica, store, own } = await resumedStream(100);
    for (let i = 0; i < 60; i++) own.record(replica.incr('hits'));
    await own.flush();
    // Appended, not yet read by every member, then 200 more while Redis is away.
    (store as { ready: boolean }).ready = false;
    for (let i = 0; i < 200; i++) own.record(replica.incr('hits'));
    expect(own.keptOps).toBeLessThanOrEqual(100);
    (store as { ready: boolean }).ready = true;
    await own.flush();
    expect(store.appended.at(-1)!.id).toBe('260-0');
    expect(own.rebuilt).toBe(1);
  });
});

describe('a busy hub\'s own stream', () => {
  it('joins the turns stamped while an append was in flight into entries of at most opsPerEntry ops, each op once and in order', async () => {
    const replica = new Replica({ id: 'aaaaaaaaaaaa' as NodeId });
    const store = fakeStore();
    // Appends wait until the test lets them through, as a busy Redis's replies do.
    const waiting: (() => void)[] = [];
    const append = store.append;
    store.append = (key, id, fields) => new Promise((resolve) => waiting.push(() => resolve(append(key, id, fields))));
    const time = new VirtualTime(1000);
    const own = new OwnStream(replica, store, 'stream', { maxQueuedOps: 1000, opsPerEntry: 25, appendSpacingMs: 0, limits: LIMITS }, time.clock(() => 0), () => undefined);
    await own.resume();
    const turn = (writes: number) => {
      for (let i = 0; i < writes; i++) own.record(replica.incr('hits', i + 1));
      time.advance(time.now); // the turn ends
    };

    turn(10); // appended at once: in flight
    turn(10);
    turn(10);
    turn(10);
    expect(store.appended).toEqual([]);
    expect(own.keptOps).toBe(40);
    while (store.appended.length < 3) {
      await until(() => waiting.length > 0);
      waiting.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The three turns after the first: 20 in one entry (30 would be past 25), then 10.
    expect(store.appended.map((entry) => entry.id)).toEqual(['10-0', '30-0', '40-0']);
    const ops = store.appended.flatMap((entry) => decodeEntry(replica.id, entry.id, entry.fields, LIMITS).ops);
    expect(ops.map((op) => op.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(ops.map((op) => op.value)).toEqual(Array.from({ length: 4 }, () => Array.from({ length: 10 }, (_, i) => i + 1)).flat());
    expect(own.keptOps).toBe(40);
    own.seenByAll(40);
    expect(own.keptOps).toBe(0);
  });

  it('begins an append no sooner than appendSpacingMs after the last began (whole ms on the clock: one more): the turns between go in one entry', async () => {
    const { store, time, turn } = await spacedStream();
    turn(10); // the first append goes at once
    await until(() => store.appended.length === 1);
    turn(10); // within the same millisecond: it waits
    turn(10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.appended.map((entry) => entry.id)).toEqual(['10-0']);
    expect(time.nextAt).toBe(1002);
    time.advance(time.now + 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.appended).toHaveLength(1);
    time.advance(time.now + 1);
    await until(() => store.appended.length === 2);
    expect(store.appended.map((entry) => entry.id)).toEqual(['10-0', '30-0']);
    // A millisecond later, a write goes at once.
    time.advance(time.now + 5);
    turn(1);
    await until(() => store.appended.length === 3);
    expect(store.appended[2]!.id).toBe('31-0');
    expect(time.idle).toBe(true);
  });

  it('appends what is left when it closes, without waiting out the spacing', async () => {
    // Redis answers in a later turn: close must wait for the append under way.
    const { store, time, own, turn } = await spacedStream({ answersLater: true });
    turn(10);
    await until(() => store.appended.length === 1);
    turn(10);
    await until(() => time.nextAt !== undefined); // waiting for the spacing
    turn(5);
    await own.close();
    expect(store.appended.map((entry) => entry.id)).toEqual(['10-0', '25-0']);
    expect(own.queued).toBe(0);
  });
});

// A hub's own stream on the fake store and virtual time, appends 1 ms apart, resumed; `turn`
// records that many increments and ends the turn. `answersLater`: the store answers an append in
// a later turn, as Redis does.
async function spacedStream(options: { answersLater?: boolean } = {}) {
  const replica = new Replica({ id: 'aaaaaaaaaaaa' as NodeId });
  const store = fakeStore();
  if (options.answersLater === true) {
    const append = store.append;
    store.append = async (key, id, fields) => {
      await new Promise((resolve) => setImmediate(resolve));
      return append(key, id, fields);
    };
  }
  const time = new VirtualTime(1000);
  const own = new OwnStream(replica, store, 'stream', { maxQueuedOps: 1000, appendSpacingMs: 1, limits: LIMITS }, time.clock(() => 0), () => undefined);
  await own.resume();
  const turn = (writes: number) => {
    for (let i = 0; i < writes; i++) own.record(replica.incr('hits', 1));
    time.advance(time.now); // the turn ends
  };
  return { store, time, own, turn };
}

// Resolves once `condition` holds (it is checked after each turn), failing after 2 s.
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
