import { createClient } from 'redis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SnapshotReadings } from '../../../lib/core/live-readings.js';
import { Collective } from '../../../lib/index.js';
import { NodeRedisStore } from '../../../lib/mesh/redis/node-redis.js';
import { groupKeys } from '../../../lib/wire/redis.js';
import { NO_REDIS_REASON, REDIS_SERVER, RedisServer } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

// The group snapshot goes to Redis in parts (a hub's event loop never encodes or sends more than
// a slice of it at once), into an upload key of the hub's own, which a compare-and-set makes the
// snapshot only when it is whole: run against a real redis-server.
if (REDIS_SERVER === undefined) console.warn(`skipping the snapshot upload tests: ${NO_REDIS_REASON}`);

const keys = groupKeys('upload-test');
const upload = keys.upload('aaaaaaaaaaaa');
function rawClient(url: string) {
  return createClient({ url });
}

let server: RedisServer | undefined;
let store: NodeRedisStore | undefined;
// A plain client of the test's own, to look at the keys.
let raw: ReturnType<typeof rawClient> | undefined;
afterEach(async () => {
  raw?.destroy();
  raw = undefined;
  await store?.close();
  store = undefined;
  await server?.stop();
  server = undefined;
});

// A redis-server, the tier's store on it, and a plain client.
async function open(): Promise<{ store: NodeRedisStore; raw: ReturnType<typeof rawClient> }> {
  server = await RedisServer.start();
  store = await NodeRedisStore.open({ url: server.url }, () => undefined);
  raw = rawClient(server.url);
  // A test may kill the server: the client's reconnect errors are expected then.
  raw.on('error', () => undefined);
  await raw.connect();
  return { store, raw };
}

// Uploads `parts` as the tier does; returns their length in bytes.
async function uploadParts(target: NodeRedisStore, parts: readonly string[], ttlMs = 60_000): Promise<number> {
  for (let i = 0; i < parts.length; i++) await target.uploadPart(upload, parts[i]!, i === 0, ttlMs);
  return parts.reduce((sum, part) => sum + Buffer.byteLength(part, 'utf8'), 0);
}

describe.skipIf(REDIS_SERVER === undefined)('the group snapshot, uploaded in parts', () => {
  it('becomes the snapshot whole, its upload key gone and no expiry left on it; a later one replaces it only if its vector covers', async () => {
    const { store, raw } = await open();
    const parts = ['{"a":"é', 'tè', '"}'];
    const bytes = await uploadParts(store, parts);
    expect(await store.putSnapshot(keys.snapshot, keys.snapshotVector, upload, bytes, '{"x":2}', false)).toBe('stored');
    expect(await raw.get(keys.snapshot)).toBe(parts.join(''));
    expect(await raw.get(keys.snapshotVector)).toBe('{"x":2}');
    expect(await raw.exists(upload)).toBe(0);
    expect(await raw.pTTL(keys.snapshot)).toBe(-1);
    // Behind the stored one: refused, and the upload stays for a forced put.
    const older = await uploadParts(store, ['{"b":1}']);
    expect(await store.putSnapshot(keys.snapshot, keys.snapshotVector, upload, older, '{"x":1}', false)).toBe('refused');
    expect(await raw.get(keys.snapshot)).toBe(parts.join(''));
    expect(await store.putSnapshot(keys.snapshot, keys.snapshotVector, upload, older, '{"x":1}', true)).toBe('stored');
    expect(await raw.get(keys.snapshot)).toBe('{"b":1}');
  });

  it('refuses an upload that lost a part (cut short, or gone), removes it, and keeps the stored snapshot', async () => {
    const { store, raw } = await open();
    await uploadParts(store, ['{"kept":true}']);
    expect(await store.putSnapshot(keys.snapshot, keys.snapshotVector, upload, 13, '{"x":1}', false)).toBe('stored');
    const bytes = await uploadParts(store, ['{"new":', '"value"}']);
    // What a restart of Redis between two parts leaves: the key without its first part.
    await raw.set(upload, '"value"}');
    expect(await store.putSnapshot(keys.snapshot, keys.snapshotVector, upload, bytes, '{"x":2}', false)).toBe('incomplete');
    expect(await raw.exists(upload)).toBe(0);
    expect(await store.putSnapshot(keys.snapshot, keys.snapshotVector, upload, bytes, '{"x":2}', true)).toBe('incomplete');
    expect(await raw.get(keys.snapshot)).toBe('{"kept":true}');
    expect(await raw.get(keys.snapshotVector)).toBe('{"x":1}');
  });

  it('lets an abandoned upload expire', async () => {
    const { store, raw } = await open();
    await uploadParts(store, ['{"a":', '1}'], 200);
    const ttl = await raw.pTTL(upload);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(200);
  });

  it('lets a hub close while its upload waits on a Redis that went away, without waiting for Redis', async () => {
    const { raw } = await open();
    const hub = await Collective.start({ redis: { url: server!.url, group: 'upload-test', snapshotMs: 50 } });
    try {
      // Enough for an upload of many slices (about 20 MB of JSON: a second or more).
      const session = { data: 'x'.repeat(150), tags: ['a', 'b'] };
      for (let i = 0; i < 100_000; i++) hub.set(['sessions', `s${i}`], { ...session, user: i });
      await hub.flush();
      const uploadKey = groupKeys('upload-test').upload(hub.stats().id);
      await waitFor(async () => (await raw.exists(uploadKey)) === 1, 30_000, 'an upload under way');
      await server!.kill();
      // The next part is queued by the client until Redis returns, which it does not.
      let closed = false;
      const closing = hub.close().then(() => (closed = true));
      await waitFor(() => closed, 10_000, 'the hub closed');
      await closing;
    } finally {
      await hub.close();
    }
  });

  it('ends the readings each stored snapshot took of parents read in place', async () => {
    await open();
    const added = vi.spyOn(SnapshotReadings.prototype, 'add');
    const ended = vi.spyOn(SnapshotReadings.prototype, 'end');
    const hub = await Collective.start({ redis: { url: server!.url, group: 'upload-test', snapshotMs: 50 } });
    try {
      // A parent of many keys, folded: a snapshot reads it in place.
      for (let i = 0; i < 500; i++) hub.set(['sessions', `s${i}`], { user: i });
      await hub.flush();
      await waitFor(() => added.mock.calls.length > 0 && hub.stats().redis!.snapshotsWritten >= 2, 30_000, 'snapshots stored that read the parent in place');
      // Every upload ends its readings, stored or not.
      expect(ended.mock.calls.length).toBeGreaterThanOrEqual(hub.stats().redis!.snapshotsWritten);
    } finally {
      await hub.close();
      added.mockRestore();
      ended.mockRestore();
    }
  });
});
