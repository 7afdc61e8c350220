import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../lib/core/clock.js';
import { Replica } from '../../../lib/core/replica.js';
import { OwnStream } from '../../../lib/mesh/redis/own-stream.js';
import type { GroupStore } from '../../../lib/mesh/redis/store.js';

// Just what OwnStream runs: appends are recorded, and the stream's last id is what the test says
// Redis holds (it "loses" entries by saying less).
function fakeStore(): GroupStore & { appended: { id: string; fields: readonly string[] }[]; lastIdIs: string | undefined } {
  const store = {
    ready: true,
    appended: [] as { id: string; fields: readonly string[] }[],
    lastIdIs: undefined as string | undefined,
    onReady: () => undefined,
    append: async (_key: string, id: string, fields: readonly string[]) => {
      store.appended.push({ id, fields });
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
  const own = new OwnStream(replica, store, 'stream', { maxQueuedOps, limits: LIMITS }, () => undefined, () => undefined);
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
