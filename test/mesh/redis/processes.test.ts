import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { Replica } from '../../../lib/core/replica.js';
import { Collective } from '../../../lib/index.js';
import { decodeGroupSnapshot } from '../../../lib/wire/redis.js';
import { converged, HubProcess, killHubProcesses } from '../../helpers/hub-process.js';
import { NO_REDIS_REASON, REDIS_SERVER, RedisServer } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

// Hubs in processes of their own, linked through a real redis-server (started by each test on a
// free port, AOF on with `appendfsync everysec`), driven over IPC.
if (REDIS_SERVER === undefined) console.warn(`skipping the Redis tier tests: ${NO_REDIS_REASON}`);

let server: RedisServer | undefined;
const scratch: string[] = [];
afterEach(async () => {
  await killHubProcesses();
  await server?.stop();
  server = undefined;
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function redisHub(env: Record<string, string> = {}): Promise<HubProcess> {
  return HubProcess.start([], '', { env: { REDIS_URL: server!.url, REDIS_GROUP: 'shop', ...env } });
}

type Stats = { redis: { bootstraps: number; rejected: { entries: number; announcements: number; snapshots: number }; gaps: number; queuedOps: number } };

describe.skipIf(REDIS_SERVER === undefined)('hubs linked through Redis Streams, in processes of their own', () => {
  it('3 hubs converge: counters exact, appends in one order, conflicting sets one way', { timeout: 60_000 }, async () => {
    server = await RedisServer.start();
    const hubs = await Promise.all([redisHub(), redisHub(), redisHub()]);
    for (let round = 0; round < 5; round++) {
      await Promise.all(hubs.flatMap((hub, i) => [hub.write('incr', 'count', 1, 200), hub.write('append', 'log', `h${i}r${round}-#`, 10), hub.write('set', 'winner', `h${i}r${round}`)]));
    }
    const state = await converged(hubs, (s) => s.count === 3000 && (s.log as unknown[]).length === 150, 'the three hubs to agree');
    expect(state.count).toBe(3000);
    expect(new Set(state.log as string[]).size).toBe(150);
    expect(typeof state.winner).toBe('string');
  });

  it('a hub joining late bootstraps from the snapshot, the streams trimmed below it', { timeout: 60_000 }, async () => {
    server = await RedisServer.start();
    const first = await Promise.all([redisHub({ REDIS_SNAPSHOT_MS: '200' }), redisHub({ REDIS_SNAPSHOT_MS: '200' })]);
    for (let round = 0; round < 5; round++) await Promise.all(first.map((hub, i) => hub.write('set', `keys.h${i}r${round}-#`, 'v#', 100)));
    await converged(first, (s) => Object.keys(s.keys as object).length === 1000, 'the first two hubs to agree');
    // Every member has read everything, and a snapshot covers it: the streams are trimmed to nothing.
    const client = createClient({ url: server.url });
    await client.connect();
    try {
      await waitFor(async () => {
        const lengths = await Promise.all(first.map((hub) => client.xLen(`collective:shop:ops:${hub.id}`)));
        return lengths.every((length) => length === 0);
      }, 20_000, 'the streams to be trimmed below the snapshot');
    } finally {
      client.destroy();
    }
    const late = await redisHub();
    await converged([...first, late], (s) => Object.keys(s.keys as object).length === 1000, 'the late hub to catch up');
    expect(((await late.stats()) as unknown as Stats).redis.bootstraps).toBeGreaterThanOrEqual(1);
  });

  it('the group snapshot is stored again once GC folded the op records it carried, and a late hub adopts it folded', { timeout: 60_000 }, async () => {
    server = await RedisServer.start();
    const pair = await Promise.all([redisHub({ REDIS_SNAPSHOT_MS: '200' }), redisHub({ REDIS_SNAPSHOT_MS: '200' })]);
    // The leader (the lower id) stores snapshots; the other, paused, holds the horizon back, so
    // that the one stored after the writes carries them as op records.
    const [leader, paused] = pair[0]!.id < pair[1]!.id ? [pair[0]!, pair[1]!] : [pair[1]!, pair[0]!];
    type SnapshotStats = { redis: { snapshotsWritten: number; snapshotFolded: boolean }; metadata: { ops: number } };
    const stats = async (hub: HubProcess): Promise<SnapshotStats> => (await hub.stats()) as unknown as SnapshotStats;
    paused.signal('SIGSTOP');
    await leader.write('set', 'keys.k#', 'v#', 3000);
    // A snapshot stored after the writes, while they cannot fold (the hub said so: not folded).
    await waitFor(async () => {
      const now = await stats(leader);
      return now.redis.snapshotsWritten > 0 && !now.redis.snapshotFolded && now.metadata.ops >= 3000;
    }, 20_000, 'a snapshot stored with the writes unfolded');
    const client = createClient({ url: server.url });
    await client.connect();
    const storedRecords = async (): Promise<number> => Replica.fromSnapshot(decodeGroupSnapshot((await client.get('collective:shop:snapshot'))!).snapshot).metadata().ops;
    try {
      await waitFor(async () => (await storedRecords()) >= 3000, 20_000, 'the stored snapshot to hold the writes as op records');
    } finally {
      client.destroy();
    }
    paused.signal('SIGCONT');
    // GC folds them once the other hub has read them; the same state is then stored again.
    await waitFor(async () => (await stats(leader)).metadata.ops === 0, 20_000, 'GC to fold the writes');
    await waitFor(async () => (await stats(leader)).redis.snapshotFolded, 20_000, 'the snapshot stored again, folded');
    const again = createClient({ url: server.url });
    await again.connect();
    let stored: Replica;
    try {
      stored = Replica.fromSnapshot(decodeGroupSnapshot((await again.get('collective:shop:snapshot'))!).snapshot);
    } finally {
      again.destroy();
    }
    expect(stored.metadata().ops).toBe(0);
    expect(Object.keys(stored.get('keys') as object)).toHaveLength(3000);
    const late = await redisHub();
    await converged([leader, paused, late], (s) => Object.keys(s.keys as object).length === 3000, 'the late hub to catch up');
    expect((await stats(late)).metadata.ops).toBe(0);
  });

  it('kill -9 of redis-server mid-run, restarted from its AOF: converges with nothing lost', { timeout: 90_000 }, async () => {
    server = await RedisServer.start();
    const hubs = await Promise.all([redisHub(), redisHub(), redisHub()]);
    let expected = 0;
    const writing = (async () => {
      for (let round = 0; round < 30; round++) {
        await Promise.all(hubs.map((hub) => hub.write('incr', 'count', 1, 50)));
        expected += 150;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 600));
    await server.kill();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.restart();
    await writing;
    await converged(hubs, (s) => s.count === expected, `the hubs to count all ${expected} increments`, 45_000);
  });

  it('Redis down for 10 s while writes go on: the hubs serve, queue, and catch up', { timeout: 90_000 }, async () => {
    server = await RedisServer.start();
    const hubs = await Promise.all([redisHub(), redisHub()]);
    await Promise.all(hubs.map((hub) => hub.write('incr', 'count', 1, 100)));
    await converged(hubs, (s) => s.count === 200, 'the first writes');
    await server.kill();
    const started = Date.now();
    let expected = 200;
    while (Date.now() - started < 10_000) {
      // Every write resolves locally while Redis is away.
      await Promise.all(hubs.map((hub) => hub.write('incr', 'count', 1, 100)));
      expected += 200;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const queued = await Promise.all(hubs.map(async (hub) => ((await hub.stats()) as unknown as Stats).redis.queuedOps));
    expect(queued.every((ops) => ops > 0)).toBe(true);
    await server.restart();
    await converged(hubs, (s) => s.count === expected, `the hubs to count all ${expected} increments`, 45_000);
  });

  it('a hub killed and restarted: with its directory it comes back as itself, without it under its name', { timeout: 90_000 }, async () => {
    server = await RedisServer.start();
    const dir = mkdtempSync(join(tmpdir(), 'collective-redis-persist-'));
    scratch.push(dir);
    const persisted = { PERSIST_DIR: dir, PERSIST_FSYNC: 'always' };
    const a = await redisHub({ REDIS_NAME: 'a' });
    let b = await redisHub({ ...persisted, REDIS_NAME: 'b' });
    let c = await redisHub({ REDIS_NAME: 'c' });
    await Promise.all([a, b, c].map((hub) => hub.write('incr', 'count', 1, 300)));
    await converged([a, b, c], (s) => s.count === 900, 'the first writes');
    const idOfB = b.id;
    const idOfC = c.id;
    await Promise.all([b.kill(), c.kill()]);
    await a.write('incr', 'count', 1, 300);
    b = await redisHub({ ...persisted, REDIS_NAME: 'b' });
    c = await redisHub({ REDIS_NAME: 'c' });
    expect(b.id).toBe(idOfB);
    expect(c.id).not.toBe(idOfC);
    await Promise.all([b, c].map((hub) => hub.write('incr', 'count', 1, 100)));
    await converged([a, b, c], (s) => s.count === 1400, 'the restarted hubs to catch up');
    // c's life before is retired by its name: GC goes on without waiting for it.
    const folds = async () => ((await a.stats()) as { gc: { runs: number } }).gc.runs;
    const before = await folds();
    await a.write('incr', 'count', 1, 10);
    await waitFor(async () => (await folds()) > before, 10_000, 'GC to fold again');
  });

  it('16 hub processes over one Redis converge with exact counters', { timeout: 120_000 }, async () => {
    server = await RedisServer.start();
    const hubs: HubProcess[] = [];
    for (let i = 0; i < 16; i += 4) hubs.push(...(await Promise.all([0, 1, 2, 3].map(() => redisHub()))));
    const started = Date.now();
    await Promise.all(hubs.map((hub) => hub.write('incr', 'count', 1, 500)));
    await converged(hubs, (s) => s.count === 8000, '16 hubs to agree', 60_000);
    console.log(`16 hubs over Redis: 8000 increments counted everywhere in ${Date.now() - started} ms`);
  });

  it('refuses a second live hub under a name in use (ERR_COLLECTIVE_REDIS_NAME_IN_USE)', { timeout: 30_000 }, async () => {
    server = await RedisServer.start();
    const first = await redisHub({ REDIS_NAME: 'web-1' });
    await expect(Collective.start({ redis: { url: server.url, group: 'shop', name: 'web-1' } })).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_REDIS_NAME_IN_USE', message: expect.stringContaining(first.id) });
    const other = await Collective.start({ redis: { url: server.url, group: 'shop', name: 'web-2' } });
    await other.close();
  });

  it('refuses bad data in the group keys with a reason and a counter, and goes on', { timeout: 60_000 }, async () => {
    server = await RedisServer.start();
    const hubs = await Promise.all([redisHub(), redisHub()]);
    await Promise.all(hubs.map((hub) => hub.write('incr', 'count', 1, 10)));
    await converged(hubs, (s) => s.count === 20, 'the first writes');
    const client = createClient({ url: server.url });
    await client.connect();
    try {
      const [a] = hubs;
      // Garbage entries in a hub's stream, past what it wrote: wrong fields, bad JSON, ops of
      // another origin, a __proto__ path.
      const stream = `collective:shop:ops:${a!.id}`;
      await client.sendCommand(['XADD', stream, '100-0', 'junk', '1']);
      await client.sendCommand(['XADD', stream, '101-0', 'v', '1', 'f', '100', 'o', '{not json']);
      await client.sendCommand(['XADD', stream, '103-0', 'v', '1', 'f', '102', 'o', JSON.stringify([['zzzzzzzzzzzz', 103, 1, [['x']], 0, 0, 1, 0, 0]])]);
      await client.sendCommand(['XADD', stream, '105-0', 'v', '1', 'f', '104', 'o', JSON.stringify([[a!.id, 105, 1, [['__proto__', 'x']], 0, 0, 1, 0, 0]])]);
      // Garbage announcements, and a snapshot of the wrong shape.
      await client.hSet('collective:shop:hubs', { stranger: 'not json', zzzzzzzzzzzz: JSON.stringify({ v: 1, id: 'zzzzzzzzzzzz', i: 'x', at: 'soon' }) });
      await client.set('collective:shop:snapshot', JSON.stringify({ v: 1, tree: 'oops' }));
      await client.set('collective:shop:snapshot:vector', JSON.stringify({ [a!.id]: 1e9 }));
    } finally {
      client.destroy();
    }
    await waitFor(async () => {
      const stats = (await Promise.all(hubs.map((hub) => hub.stats()))) as unknown as Stats[];
      return stats[1]!.redis.rejected.entries >= 3 && stats.every((s) => s.redis.rejected.announcements >= 2);
    }, 15_000, 'the garbage to be refused and counted');
    // A late hub still catches up: from the streams, or from a good snapshot that replaced the bad one.
    const late = await redisHub();
    await Promise.all(hubs.map((hub) => hub.write('incr', 'count', 1, 10)));
    const state = await converged([...hubs, late], (s) => s.count === 40, 'the hubs to go on');
    expect(Object.keys(state)).toEqual(['count']);
    // The bad snapshot was refused by whoever read it first: the late hub bootstrapping, or
    // the leader finding it is not what its vector claims (and replacing it).
    const all = (await Promise.all([...hubs, late].map((hub) => hub.stats()))) as unknown as Stats[];
    expect(all.reduce((sum, s) => sum + s.redis.rejected.snapshots, 0)).toBeGreaterThanOrEqual(1);
  });
});
