import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { converged, fullMesh, HubProcess, killHubProcesses } from '../helpers/hub-process.js';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  await killHubProcesses();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

// A cluster primary with two real workers, linked over TCP to another hub whose clock is 3 s
// behind. The primary's stream to it goes through a proxy that can swallow it for a moment:
// the other hub then writes keys the primary already wrote without having seen those writes,
// so its writes reach the primary stamped before the primary's own. The primary places them
// below (its writes win); its workers apply its stream in arrival order, and must still read
// exactly what their hub holds.
describe('workers of a hub that receives writes out of stamp order', () => {
  it('read what their hub holds, not the late writes applied on top', { timeout: 60_000 }, async () => {
    const proxy = await new FaultProxy().start();
    proxies.push(proxy);
    const behind = await HubProcess.start([], 'late writes', { clockOffsetMs: -3000 });
    proxy.retarget(behind.port);
    const primary = await HubProcess.start([proxy.address], 'late writes', { script: 'cluster-hub.mjs', env: { WORKERS: '2' } });
    await fullMesh([primary, behind]);
    proxy.blackhole();
    await primary.write('set', 'k.#', 'primary', 40);
    await primary.write('incr', 'n', 1);
    await behind.write('set', 'k.#', 'behind', 40);
    await behind.write('set', 'n', 10); // before the primary's incr: n = 10 + 1
    proxy.heal();
    const state = await converged([primary, behind], (tree) => tree.n === 11, 'both hubs to hold every write');
    expect(Object.values(state.k as Record<string, string>).every((winner) => winner === 'primary')).toBe(true);
    const { views } = await primary.request({ cmd: 'views' });
    expect(views).toHaveLength(2);
    for (const view of views as unknown[]) expect(view).toEqual(state);
  });
});
