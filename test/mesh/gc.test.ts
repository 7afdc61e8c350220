import { afterEach, describe, expect, it } from 'vitest';
import type { Collective } from '../../lib/index.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { localHubs } from '../helpers/local-hubs.js';
import { waitFor } from '../helpers/wait.js';

// Metadata collection between hubs linked over real loopback TCP: op records are folded away
// once every hub of the group has seen them, and only then.
const { start, address } = localHubs({ heartbeatMs: 200, antiEntropyMs: 100 });
const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

/** n hubs dialing each other through proxies (so that the group exists before any hub does). */
async function group(n: number): Promise<{ hubs: Collective[]; proxy: FaultProxy[] }> {
  const proxy = await Promise.all(Array.from({ length: n }, async () => {
    const created = await new FaultProxy().start();
    proxies.push(created);
    return created;
  }));
  const started = await Promise.all(proxy.map((_, i) => start({ peers: proxy.filter((__, j) => j !== i).map((p) => p.address) })));
  started.forEach((hub, i) => proxy[i]!.retarget(hub.port!));
  await waitFor(() => started.every((hub) => hub.stats().peers.filter((peer) => peer.outbound === 'up' && peer.inbound).length === n - 1), 10_000, 'a full mesh');
  return { hubs: started, proxy };
}

const records = (hub: Collective) => hub.stats().metadata.ops;

async function waitRounds(hub: Collective, rounds: number, kind: 'runs' | 'waits'): Promise<void> {
  const from = hub.stats().gc[kind];
  await waitFor(() => hub.stats().gc[kind] >= from + rounds, 10_000, `${rounds} GC ${kind}`);
}

describe('metadata collection between linked hubs', () => {
  it('folds every op record away once the whole group has seen it, leaving the data intact', async () => {
    const { hubs: [a, b, c] } = await group(3);
    await Promise.all([a!, b!, c!].flatMap((hub, who) => Array.from({ length: 300 }, (_, i) => [hub.incr('hits'), hub.set(`by.${who}.${i % 10}`, i), hub.append(`log.${who}`, i)]).flat()));
    await waitFor(() => [a!, b!, c!].every((hub) => hub.get('hits') === 900), 10_000, 'convergence');
    expect(records(a!)).toBeGreaterThan(0);
    await waitFor(() => [a!, b!, c!].every((hub) => records(hub) === 0), 10_000, 'every record folded');
    for (const hub of [a!, b!, c!]) {
      expect(hub.get('hits')).toBe(900);
      expect((hub.get('log.1') as number[]).length).toBe(300);
      expect(hub.get('by.2.9')).toBe(299);
      expect(hub.stats().gc.members).toBe(2);
    }
    // Writes after folding still converge.
    await b!.incr('hits', 100);
    await waitFor(() => [a!, b!, c!].every((hub) => hub.get('hits') === 1000), 10_000, 'a write after the fold');
  });

  it('waits while a hub of the group is down, and resumes once its address answers again (restarted)', async () => {
    const { hubs: [a, b, c], proxy } = await group(3);
    await c!.close();
    await a!.incr('n', 50);
    await waitFor(() => b!.get('n') === 50, 5000, 'b to see the write');
    await waitRounds(a!, 3, 'waits');
    await waitRounds(b!, 3, 'waits');
    expect(records(a!)).toBeGreaterThan(0); // c may still need them: nothing folded
    expect(records(b!)).toBeGreaterThan(0);
    const reborn = await start({ peers: [proxy[0]!.address, proxy[1]!.address] });
    proxy[2]!.retarget(reborn.port!);
    await waitFor(() => reborn.get('n') === 50, 10_000, 'the restarted hub to catch up');
    await waitFor(() => [a!, b!, reborn].every((hub) => records(hub) === 0), 10_000, 'the fold after the restart').catch((e) => { console.log(JSON.stringify([a!, b!, reborn].map((h) => h.stats()), null, 1)); throw e; });
  });

  it('a busy hub that folded on its own is joined by a newcomer at once (its horizon travels in the hello)', async () => {
    const alone = await start();
    // Busy: its horizon is the one capped 250 ms behind wall time.
    const writing = setInterval(() => void alone.incr('n'), 5);
    try {
      const runs = alone.stats().gc.runs;
      await waitFor(() => alone.stats().gc.runs > runs + 2, 10_000, 'the lone hub to fold while busy');
      const newcomer = await start({ peers: [address(alone)] });
      await waitFor(() => (newcomer.get('n') as number) > 0, 5000, 'the newcomer to sync');
      expect(alone.stats().rejectedFrames + newcomer.stats().rejectedFrames).toBe(0);
    } finally {
      clearInterval(writing);
    }
  });

  it('a hub that wrote alone before joining a group that folded past its writes restamps them, and nothing is lost', async () => {
    const toGroup = await new FaultProxy().start();
    proxies.push(toGroup);
    toGroup.cut();
    const newcomer = await start({ peers: [toGroup.address] });
    await newcomer.incr('hits', 7);
    await newcomer.set('config.from', 'newcomer');
    const wroteBy = Date.now();
    await waitFor(() => Date.now() > wroteBy + 2, 1000, 'the clock to move on');
    const { hubs: [a, b] } = await group(2);
    await a!.incr('hits', 5);
    await b!.set('config.from', 'group');
    await waitFor(() => [a!, b!].every((hub) => hub.get('hits') === 5 && records(hub) === 0), 10_000, 'the group to fold its writes');
    toGroup.retarget(a!.port!);
    toGroup.heal();
    // The newcomer's writes now count as made when it joined: after the group's.
    await waitFor(() => [a!, b!, newcomer].every((hub) => hub.get('hits') === 12 && hub.get('config.from') === 'newcomer'), 10_000, 'everyone to agree');
    expect(a!.stats().rejectedFrames + b!.stats().rejectedFrames + newcomer.stats().rejectedFrames).toBe(0);
  });

  it('refuses, and counts, ops a hub cannot restamp any more when the group folded past them', async () => {
    // Two newcomers link with each other first (so their writes are shared), then one of them
    // reaches a group that folded past those writes.
    const toGroup = await new FaultProxy().start();
    proxies.push(toGroup);
    toGroup.cut();
    const first = await start();
    const second = await start({ peers: [address(first), toGroup.address] });
    await second.set('early', 'write');
    await waitFor(() => first.get('early') === 'write', 5000, 'the newcomers to share the write');
    const wroteBy = Date.now();
    await waitFor(() => Date.now() > wroteBy + 2, 1000, 'the clock to move on');
    const { hubs: [a] } = await group(2);
    await a!.set('group', 'data');
    await waitFor(() => records(a!) === 0, 10_000, 'the group to fold');
    toGroup.retarget(a!.port!);
    toGroup.heal();
    await waitFor(() => a!.stats().rejectedFrames > 0, 10_000, 'the group to refuse the late op');
    expect(a!.get('early')).toBeUndefined();
    expect(a!.get('group')).toBe('data');
  });
});
