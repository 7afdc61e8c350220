import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { converged, fullMesh, HubProcess, killHubProcesses } from '../helpers/hub-process.js';

// Two linked hubs in processes of their own; one persists, is killed with SIGKILL mid-run and
// restarted with its directory: it rejoins under its id, and the group converges with every
// write of both counted once. Each hub dials the other through a proxy, so the restarted hub
// can listen on a new port behind the same address.
const proxies: FaultProxy[] = [];
let dir: string | undefined;
afterEach(async () => {
  await killHubProcesses();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('persist: a linked hub killed and restarted with its directory', () => {
  it('rejoins as itself, and the group converges with exact counters', { timeout: 60_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'collective-rejoin-'));
    const toA = await new FaultProxy().start();
    const toB = await new FaultProxy().start();
    proxies.push(toA, toB);
    const persisted = { env: { PERSIST_DIR: dir } };
    const a = await HubProcess.start([toB.address]);
    let b = await HubProcess.start([toA.address], '', persisted);
    toA.retarget(a.port);
    toB.retarget(b.port);
    await fullMesh([a, b]);
    const idOfB = b.id;

    let countA = 0;
    let countB = 0;
    for (let round = 0; round < 5; round++) {
      await Promise.all([a.write('incr', 'count.a', 1, 200), b.write('incr', 'count.b', 1, 200), b.write('append', 'log.b', `r${round}-#`, 20)]);
      countA += 200;
      countB += 200;
    }
    // Killed right after its writes resolved: some were surely not yet at the other hub.
    await b.kill();
    await a.write('incr', 'count.a', 1, 300);
    countA += 300;

    b = await HubProcess.start([toA.address], '', persisted);
    toB.retarget(b.port);
    expect(b.id).toBe(idOfB);
    await fullMesh([a, b]);
    await Promise.all([a.write('incr', 'count.a', 1, 100), b.write('incr', 'count.b', 1, 100)]);
    countA += 100;
    countB += 100;
    const state = await converged([a, b], (s) => (s.count as Record<string, number> | undefined)?.b === countB && (s.count as Record<string, number>).a === countA, 'exact counters on both hubs');
    expect(state.count).toEqual({ a: countA, b: countB });
    expect((state.log as { b: string[] }).b).toHaveLength(100);
  });
});
