import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { Tinypool } from 'tinypool';
import { Collective } from 'collective';
import { fixtures } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// Real tinypool threads (and a plain worker thread) as members of a hub in this process, all from
// the built package (the pool locates its thread entry in dist/). The
// threads load the built package (test/fixtures/pool-task.mjs imports 'collective'). The
// three-tier case, threads inside cluster workers, is in test/cluster.test.ts.
const task = new URL('pool-task.mjs', `file://${fixtures}`).href;
const hubs: Collective[] = [];
const pools: Tinypool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

async function hubWithPool(options: Record<string, unknown> = {}): Promise<{ hub: Collective; pool: Tinypool }> {
  const hub = new Collective();
  hubs.push(hub);
  const pool = hub.pool({ filename: task, maxThreads: 2, minThreads: 2, ...options });
  pools.push(pool);
  return { hub, pool };
}

describe('collective.pool(): tinypool threads as members', () => {
  it('threads read their own writes at once; counts are exact and the append order is the hub’s, everywhere', async () => {
    const { hub, pool } = await hubWithPool();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.run({ n: 50, tag: `t${i}` })));
    expect(results.every((result) => result.readOwnWrites)).toBe(true);
    expect(new Set(results.map((result) => result.threadId)).size).toBe(2); // both threads worked
    expect(hub.get('hits')).toBe(400);
    const log = hub.get('log') as string[];
    expect(log).toHaveLength(400);
    // Every thread ends up with the hub's tree, list order included.
    const views = await Promise.all([0, 1, 2, 3].map(() => pool.run({ path: 'hits', value: 400 }, { name: 'view' })));
    for (const view of views) expect(view).toEqual(hub.get());
    expect(hub.stats().members).toBe(2);
  });

  it('a durable write from a thread resolves once its hub has it on disk, and is refused where the hub has no persist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collective-thread-durable-'));
    try {
      const persisted = new Collective(undefined, undefined, { persist: { dir, fsync: 'never' } });
      hubs.push(persisted);
      const pool = persisted.pool({ filename: task, maxThreads: 1 });
      pools.push(pool);
      expect(await pool.run({ path: 'flags.beta', value: true }, { name: 'durable' })).toEqual({ ok: true });
      expect(persisted.stats().persist!.fsyncs).toBeGreaterThan(0);
      expect(persisted.get('flags.beta')).toBe(true);
      const { pool: memoryOnly, hub } = await hubWithPool({ maxThreads: 1, minThreads: 1 });
      expect(await memoryOnly.run({ path: 'a', value: 1 }, { name: 'durable' })).toEqual({ ok: false, code: 'ERR_COLLECTIVE_NOT_PERSISTENT' });
      expect(hub.get('a')).toBe(1); // the write itself was applied
    } finally {
      await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
      await Promise.all(hubs.splice(0).map((hub) => hub.close()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a new thread holds what the hub held before it, as soon as ready() resolves', async () => {
    const hub = new Collective();
    hubs.push(hub);
    await hub.set('config', { mode: 'blue', at: [1, 2, 3] });
    const pool = hub.pool({ filename: task, maxThreads: 1 });
    pools.push(pool);
    expect(await pool.run({ path: 'config' }, { name: 'read' })).toMatchObject({ value: { mode: 'blue', at: [1, 2, 3] } });
  });

  it('a cas lock is mutually exclusive across threads and the hub', async () => {
    const { hub, pool } = await hubWithPool();
    const runs = [pool.run({ rounds: 20, me: 'a' }, { name: 'lock' }), pool.run({ rounds: 20, me: 'b' }, { name: 'lock' })];
    const results = await Promise.all(runs);
    expect(results).toEqual([{ overlaps: 0 }, { overlaps: 0 }]);
    expect(hub.get('inside')).toBe(0);
    expect(hub.get('lock')).toBeNull();
  });

  it('watch in a thread fires once per change the hub makes', async () => {
    const { hub, pool } = await hubWithPool({ maxThreads: 1, minThreads: 1 });
    const watching = pool.run({ me: 'w' }, { name: 'watchSignal' });
    await waitFor(() => hub.get('watching.w') === true, 10_000, 'the thread to watch');
    await hub.set('signal', 'ready');
    await hub.set('signal', 'ready'); // the same value again: no change, no call
    await hub.set('signal', 'go');
    expect(await watching).toEqual({ fired: 2 });
  });

  it('with useAtomics: true, writes a finished task never awaited still reach the hub', async () => {
    const { hub, pool } = await hubWithPool({ useAtomics: true });
    await Promise.all(Array.from({ length: 6 }, () => pool.run({ n: 25 }, { name: 'fire' })));
    await waitFor(() => hub.get('fired') === 150, 10_000, 'every fired write at the hub');
  });

  it('threads recycled by tinypool leave, and their replacements join and sync (isolateWorkers, recycleWorkers, destroy)', async () => {
    const { hub, pool } = await hubWithPool({ isolateWorkers: true, minThreads: 1 });
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.run({ n: 5, tag: `i${i}` })));
    expect(new Set(first.map((result) => result.threadId)).size).toBe(6); // a new thread for every task
    expect(hub.get('hits')).toBe(30);
    await pool.recycleWorkers();
    expect(await pool.run({ path: 'hits', value: 30 }, { name: 'view' })).toMatchObject({ hits: 30 });
    await pool.destroy();
    await waitFor(() => hub.stats().members === 0, 10_000, 'every thread to leave the hub');
  });

  it('a plain worker thread joins with attachThread(worker)', async () => {
    const hub = new Collective();
    hubs.push(hub);
    await hub.set('greeting', 'hello');
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import('collective').then(async ({ default: collective }) => {
         await collective.ready();
         await collective.incr('plain');
         parentPort.postMessage({ greeting: collective.get('greeting') });
       });`,
      { eval: true },
    );
    try {
      hub.attachThread(worker);
      const reply = await new Promise((resolve) => worker.on('message', (message) => !('collective' in message) && resolve(message)));
      expect(reply).toEqual({ greeting: 'hello' });
      expect(hub.get('plain')).toBe(1);
    } finally {
      await worker.terminate();
    }
  });

  it('refuses a child_process runtime, and a pool with no store in the process', async () => {
    const hub = new Collective();
    hubs.push(hub);
    expect(() => hub.pool({ filename: task, runtime: 'child_process' })).toThrow(/worker threads/);
    const { pool } = await import('collective');
    expect(() => pool({ filename: task })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_NOT_READY' }));
  });
});
