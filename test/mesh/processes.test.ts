import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { converged, fullMesh, HubProcess, killHubProcesses } from '../helpers/hub-process.js';
import { waitFor } from '../helpers/wait.js';

// Three hubs, each in its own process, linked over real loopback TCP. Every hub dials every
// other one through a fault proxy of its own (proxies[i][j]: hub i's stream to hub j), so a
// test can cut, blackhole or delay any one direction of any link.
const proxies: FaultProxy[] = [];
afterEach(async () => {
  await killHubProcesses();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

interface Mesh {
  hubs: HubProcess[];
  proxy: FaultProxy[][];
  restart(index: number): Promise<HubProcess>;
}

// Proxies first (without a target), then hubs on port 0 dialing the proxies, then the proxies
// pointed at the ports the hubs got: no port is ever freed and reused, so no race with other
// tests binding ports at the same time.
async function mesh(count = 3, secret = 'mesh-secret'): Promise<Mesh> {
  const proxy: FaultProxy[][] = [];
  for (let i = 0; i < count; i++) {
    proxy.push([]);
    for (let j = 0; j < count; j++) {
      const created = await new FaultProxy().start();
      proxies.push(created);
      proxy[i]!.push(created);
    }
  }
  const peersOf = (i: number) => proxy.flatMap((_, j) => (j === i ? [] : [proxy[i]![j]!.address]));
  const target = (j: number, port: number) => {
    for (let i = 0; i < count; i++) proxy[i]![j]!.retarget(port);
  };
  const hubs = await Promise.all(Array.from({ length: count }, (_, i) => HubProcess.start(peersOf(i), secret)));
  hubs.forEach((hub, j) => target(j, hub.port));
  const result: Mesh = {
    hubs,
    proxy,
    async restart(index) {
      const hub = await HubProcess.start(peersOf(index), secret);
      target(index, hub.port);
      hubs[index] = hub;
      return hub;
    },
  };
  await fullMesh(hubs);
  return result;
}

function cutHub(m: Mesh, index: number, how: 'cut' | 'blackhole'): void {
  for (let other = 0; other < m.hubs.length; other++) {
    if (other === index) continue;
    m.proxy[index]![other]![how]();
    m.proxy[other]![index]![how]();
  }
}

function healAll(m: Mesh): void {
  for (const row of m.proxy) for (const proxy of row) proxy.heal();
}

describe('hubs in separate processes over TCP, with faults', { timeout: 60_000 }, () => {
  it('concurrent writes on three hubs converge: identical trees, exact counters, one append order, metadata folded', async () => {
    const m = await mesh();
    await Promise.all(m.hubs.flatMap((hub, i) => [hub.write('incr', 'hits', 1, 300), hub.write('append', 'log', `${i}:#`, 100), hub.write('set', `by.${i}`, 'x#', 50)]));
    const state = await converged(m.hubs, (s) => s.hits === 900 && (s.log as unknown[]).length === 300, 'convergence');
    expect(state.by).toEqual({ 0: 'x49', 1: 'x49', 2: 'x49' });
    expect(new Set(state.log as string[]).size).toBe(300);
    // Once every hub has seen everything, every op record is folded away.
    const records = async () => Promise.all(m.hubs.map(async (hub) => ((await hub.stats()).metadata as { ops: number }).ops));
    await waitFor(async () => (await records()).every((ops) => ops === 0), 15_000, 'every hub to fold its records');
    expect(await converged(m.hubs, () => true, 'the same trees after folding')).toEqual(state);
  });

  it('a partitioned hub and the others keep writing; after the heal every tree is identical and nothing is lost', async () => {
    const m = await mesh();
    await m.hubs[0]!.write('set', 'before', 'partition');
    await converged(m.hubs, (s) => s.before === 'partition', 'the first write everywhere');
    cutHub(m, 2, 'cut');
    await Promise.all([m.hubs[0]!.write('incr', 'n', 1, 100), m.hubs[1]!.write('incr', 'n', 1, 100), m.hubs[2]!.write('incr', 'n', 1, 100)]);
    await m.hubs[2]!.write('set', 'config', 'from the island');
    // "Later" means a later stamp: two writes in the same millisecond are ordered by counter and
    // node id, not by real time. Once the (shared) wall clock has moved on, hub 0's stamp is
    // later, since a stamp's wall time is never behind its hub's physical clock.
    const islandWroteBy = Date.now();
    await waitFor(() => Date.now() > islandWroteBy + 1, 1000, 'the clock to move on');
    await m.hubs[0]!.write('set', 'config', 'from the mainland');
    // The two sides differ while cut.
    expect(((await m.hubs[2]!.state()) as Record<string, unknown>).n).toBe(100);
    healAll(m);
    const state = await converged(m.hubs, (s) => s.n === 300, 'convergence after the heal');
    expect(state.config).toBe('from the mainland'); // the later write wins, on every hub
  });

  it('one link of three blackholed: the third hub still catches up through the other, and all heal', async () => {
    const m = await mesh();
    m.proxy[0]![2]!.blackhole(); // hub 0's stream to hub 2 stalls silently
    await m.hubs[0]!.write('incr', 'only-from-0', 1, 50);
    await converged(m.hubs, (s) => s['only-from-0'] === 50, 'hub 2 to get hub 0’s writes through hub 1');
    healAll(m);
    await m.hubs[0]!.write('incr', 'only-from-0', 1, 10);
    await converged(m.hubs, (s) => s['only-from-0'] === 60, 'convergence after the heal');
  });

  it('kill -9 of a hub, then a restart: it rejoins under a new id and catches up', async () => {
    const m = await mesh();
    await m.hubs[1]!.write('incr', 'n', 1, 40);
    await converged(m.hubs, (s) => s.n === 40, 'the writes everywhere');
    const oldId = m.hubs[1]!.id;
    await m.hubs[1]!.kill();
    await m.hubs[0]!.write('incr', 'n', 1, 10); // written while hub 1 is dead
    const reborn = await m.restart(1);
    expect(reborn.id).not.toBe(oldId);
    await reborn.write('incr', 'n', 1, 5);
    await converged(m.hubs, (s) => s.n === 55, 'convergence with the restarted hub');
  });

  it('a hub paused (SIGSTOP) and resumed: links are dropped, redialed, and everything converges', async () => {
    const m = await mesh();
    m.hubs[2]!.signal('SIGSTOP');
    await m.hubs[0]!.write('incr', 'n', 1, 30);
    await waitFor(
      async () => ((await m.hubs[0]!.stats()).peers as { outbound: string }[]).some((peer) => peer.outbound !== 'up'),
      10_000,
      'hub 0 to notice the silent peer',
    );
    m.hubs[2]!.signal('SIGCONT');
    await m.hubs[2]!.write('incr', 'n', 1, 3);
    await converged(m.hubs, (s) => s.n === 33, 'convergence after the resume');
  });
});
