import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../lib/core/clock.js';
import { Replica } from '../../../lib/core/replica.js';
import { logger } from '../../../lib/log.js';
import { GroupSnapshot } from '../../../lib/mesh/redis/group-snapshot.js';
import type { GroupStore, SnapshotPut } from '../../../lib/mesh/redis/store.js';
import { groupKeys } from '../../../lib/wire/redis.js';

// The leader of a Redis group stores the group snapshot when the stored one is behind it; while
// it holds many op records (a burst GC has not folded yet) it waits for GC, for at most ten
// checks, rather than upload every record (lib/mesh/redis/group-snapshot.ts).

const keys = groupKeys('g');
const EVERY_MS = 1000;

// The commands a snapshot check sends, on a map: enough to see what was stored and when.
function memoryStore(): { store: GroupStore; strings: Map<string, string>; puts: number } {
  const strings = new Map<string, string>();
  const state = { puts: 0 };
  const store = {
    get: async (key: string) => strings.get(key),
    uploadPart: async (key: string, text: string, first: boolean) => {
      strings.set(key, first ? text : (strings.get(key) ?? '') + text);
    },
    putSnapshot: async (snapshotKey: string, vectorKey: string, uploadKey: string, _bytes: number, vector: string): Promise<SnapshotPut> => {
      state.puts++;
      strings.set(snapshotKey, strings.get(uploadKey)!);
      strings.set(vectorKey, vector);
      strings.delete(uploadKey);
      return 'stored';
    },
  } as unknown as GroupStore;
  return {
    store,
    strings,
    get puts() {
      return state.puts;
    },
  };
}

function leaderOf(replica: Replica, store: GroupStore): GroupSnapshot {
  const host = { group: () => ({ members: [replica.id as NodeId], retired: [] }), heardGroup: () => undefined, foldedAt: () => undefined, adopted: () => undefined };
  return new GroupSnapshot(replica, store, keys, { maxDepth: 32, maxValueBytes: 1 << 20, maxSnapshotBytes: 1 << 30 }, host, logger('test'));
}

describe('the group snapshot while GC has many op records to fold', () => {
  it('waits for GC to fold them, then stores a folded one', async () => {
    const replica = new Replica({ id: 'aaaaaaaaaaaa' as NodeId });
    const redis = memoryStore();
    const snapshot = leaderOf(replica, redis.store);
    replica.set('first', 1);
    await snapshot.check(true, 0, EVERY_MS); // nothing stored yet: stored at once
    expect(redis.puts).toBe(1);
    for (let i = 0; i < 20_000; i++) replica.incr('hits');
    expect(replica.unfoldedOps()).toBe(20_001);
    await snapshot.check(true, 1000, EVERY_MS); // sees its own snapshot stored: waits from now
    await snapshot.check(true, 2000, EVERY_MS);
    expect(redis.puts).toBe(1);
    replica.collect(replica.clockCeiling());
    expect(replica.unfoldedOps()).toBe(0);
    await snapshot.check(true, 3000, EVERY_MS);
    expect(redis.puts).toBe(2);
    expect(redis.strings.get(keys.snapshotVector)).toBe(JSON.stringify({ aaaaaaaaaaaa: 20_001 }));
    expect(snapshot.knownFolded).toBe(true);
  });

  it('stores them anyway once the stored snapshot has not moved for ten checks; a few records do not wait', async () => {
    const replica = new Replica({ id: 'aaaaaaaaaaaa' as NodeId });
    const redis = memoryStore();
    const snapshot = leaderOf(replica, redis.store);
    replica.set('first', 1);
    await snapshot.check(true, 0, EVERY_MS);
    for (let i = 0; i < 20_000; i++) replica.incr('hits');
    await snapshot.check(true, 1000, EVERY_MS); // the stored one read as moved at 1000
    await snapshot.check(true, 10_999, EVERY_MS);
    expect(redis.puts).toBe(1);
    await snapshot.check(true, 11_000, EVERY_MS);
    expect(redis.puts).toBe(2);
    // Held as records, but few: stored at the next check.
    replica.collect(replica.clockCeiling());
    for (let i = 0; i < 100; i++) replica.incr('hits');
    await snapshot.check(true, 12_000, EVERY_MS);
    expect(redis.puts).toBe(3);
  });
});
