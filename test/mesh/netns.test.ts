import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { converged, fullMesh, HubProcess, killHubProcesses } from '../helpers/hub-process.js';
import { execFileSync } from 'node:child_process';
import { IP, NetnsLab, netnsUnavailable } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

// The partition tests again, between real separate hosts: each hub runs in a network namespace
// of its own, with its own address, and links are cut in the kernel (silently, as a pulled
// cable) instead of in a proxy. Needs Linux and root; CI has both.
const unavailable = netnsUnavailable();
if (unavailable !== undefined) console.warn(`skipping the network-namespace tests: ${unavailable}`);

const lab = new NetnsLab();
const SECRET = 'netns-secret';
// Each namespace is a machine of its own holding only this hub, so a fixed port cannot collide
// with anything, and every hub can be told its peers' addresses up front.
const PORT = 7100;

beforeAll(() => {
  if (unavailable === undefined) lab.up(3);
});
afterEach(async () => {
  await killHubProcesses();
  if (unavailable === undefined) lab.heal();
});
afterAll(() => {
  if (unavailable === undefined) lab.close();
});

function peersOf(i: number): { host: string; port: number }[] {
  return [1, 2, 3].filter((j) => j !== i).map((j) => ({ host: lab.address(j), port: PORT }));
}

function startHub(i: number): Promise<HubProcess> {
  return HubProcess.start(peersOf(i), SECRET, { host: lab.address(i), port: PORT, runner: lab.runner(i) });
}

async function machines(): Promise<HubProcess[]> {
  const hubs = await Promise.all([1, 2, 3].map(startHub));
  await fullMesh(hubs);
  return hubs;
}

function outboundUp(stats: Record<string, unknown>): number {
  return (stats.peers as { outbound: string }[]).filter((peer) => peer.outbound === 'up').length;
}

describe.skipIf(unavailable !== undefined)('hubs on separate hosts (network namespaces)', { timeout: 60_000 }, () => {
  it('a host cut off from the others: both sides write, the cut is detected, and after the heal every tree is identical', async () => {
    const hubs = await machines();
    await hubs[0]!.write('set', 'before', 'cut');
    await converged(hubs, (s) => s.before === 'cut', 'the first write everywhere');

    lab.isolate(3);
    // Writes made while the island is cut reach nobody, and the hubs notice the silence.
    await Promise.all([hubs[0]!.write('incr', 'n', 1, 100), hubs[1]!.write('incr', 'n', 1, 100), hubs[2]!.write('incr', 'n', 1, 100)]);
    await hubs[2]!.write('append', 'log', 'island', 1);
    await hubs[0]!.write('append', 'log', 'mainland', 1);
    await waitFor(async () => outboundUp(await hubs[2]!.stats()) === 0, 15_000, 'the island to drop its links');
    await waitFor(async () => outboundUp(await hubs[0]!.stats()) === 1, 15_000, 'the mainland to drop its link to the island');
    expect(((await hubs[2]!.state()) as Record<string, unknown>).n).toBe(100);
    expect(((await hubs[1]!.state()) as Record<string, unknown>).n).toBe(200);

    lab.heal();
    const state = await converged(hubs, (s) => s.n === 300 && (s.log as unknown[]).length === 2, 'convergence after the heal');
    expect((state.log as string[]).slice().sort()).toEqual(['island', 'mainland']);
    expect(state.before).toBe('cut');
  });

  it('one link of three cut: the third host still gets every write through the other, and all heal', async () => {
    const hubs = await machines();
    lab.cut(1, 3);
    await waitFor(async () => outboundUp(await hubs[0]!.stats()) === 1 && outboundUp(await hubs[2]!.stats()) === 1, 15_000, 'hosts 1 and 3 to drop their link');
    await hubs[0]!.write('incr', 'from-1', 1, 50);
    await hubs[2]!.write('incr', 'from-3', 1, 50);
    await converged(hubs, (s) => s['from-1'] === 50 && s['from-3'] === 50, 'writes to cross through host 2');
    lab.heal();
    await fullMesh(hubs, 30_000);
    await hubs[0]!.write('incr', 'from-1', 1, 10);
    await converged(hubs, (s) => s['from-1'] === 60, 'convergence on the healed link');
  });

  it('kill -9 of a host’s hub mid-stream and a restart on the same address: it rejoins under a new id', async () => {
    const hubs = await machines();
    const writing = hubs[0]!.write('incr', 'n', 1, 200);
    const oldId = hubs[1]!.id;
    await hubs[1]!.kill();
    await writing;
    hubs[1] = await startHub(2);
    expect(hubs[1].id).not.toBe(oldId);
    await hubs[1].write('incr', 'n', 1, 5);
    await converged(hubs, (s) => s.n === 205, 'convergence with the restarted hub');
  });
});

describe.skipIf(unavailable !== undefined)('the lab itself', () => {
  it('leaves nothing on the host once closed: no namespace, no bridge, no guard route', () => {
    const other = new NetnsLab(1);
    other.up(2);
    expect(hostState()).toMatch(new RegExp(`unreachable ${other.subnet.replaceAll('.', '\\.')}\\.0/24`));
    other.close();
    const state = hostState();
    expect(state).not.toContain(other.subnet);
    expect(state).not.toContain(other.namespace(1));
  });
});

function hostState(): string {
  return ['route', 'netns', 'link'].map((what) => execFileSync(IP, what === 'route' ? ['route', 'show', 'table', 'all'] : [what, 'list'], { encoding: 'utf8' })).join('\n');
}
