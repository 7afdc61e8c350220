import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { Replica } from '../../lib/core/replica.js';
import { PeerProtocol } from '../../lib/mesh/protocol.js';
import type { PeerSession } from '../../lib/mesh/session.js';
import { Random } from '../helpers/random.js';
import { CALM, SimNetwork, type NetworkFaults, type SimLink } from '../helpers/sim-network.js';
import { VirtualTime } from '../helpers/virtual-time.js';

// Sessions of the shipping peer protocol on simulated links, in virtual time: the heartbeat,
// the handshake timeout, and a stream that loses frames on a link that stays up.
const SETTINGS = { secret: 'test', maxClockSkewMs: 60_000, handshakeTimeoutMs: 1000, heartbeatMs: 200, antiEntropyMs: 300, listenPort: () => undefined };

function world(faults: NetworkFaults = CALM, settings: Partial<typeof SETTINGS> = {}) {
  const time = new VirtualTime(1_000_000);
  const network = new SimNetwork(time, new Random(7), faults, { sent: () => undefined });
  const hub = (name: string) => {
    const clock = time.clock(() => 0);
    const replica = new Replica({ id: name as NodeId, now: () => clock.now(), onApplied: (op) => protocol.localOp(op) });
    const protocol = new PeerProtocol(replica, { ...SETTINGS, ...settings }, clock, () => undefined);
    const closes: (Error | undefined)[] = [];
    protocol.on('session:close', (_session, reason) => closes.push(reason));
    return { replica, protocol, clock, closes };
  };
  const a = hub('hubA');
  const b = hub('hubB');
  // a dials b: a streams its writes to b.
  const link = (): { out: PeerSession; links: [SimLink, SimLink] } => {
    const links = network.connect(0, 1, 'a>b');
    b.protocol.open(links[1], 'in', { address: 'a', warnAs: 'a' });
    return { out: a.protocol.open(links[0], 'out', { address: 'b', warnAs: 'b' }), links };
  };
  return { time, network, a, b, link };
}

describe('a session between hubs', () => {
  it('an idle link pings and stays up; one cut silently is dropped after three heartbeats of silence', () => {
    const { time, network, a, b, link } = world();
    const { out } = link();
    time.advance(time.now + 100);
    expect(out.open).toBe(true);
    time.advance(time.now + 5000); // nothing written: only pings (and frontiers) keep it alive
    expect(out.closed).toBe(false);
    network.cut(0, 1);
    const cutAt = time.now;
    time.advance(time.now + 2000);
    expect(out.closed).toBe(true);
    expect(a.closes.at(-1)).toMatchObject({ code: 'ERR_COLLECTIVE_PEER_SILENT' });
    expect(b.closes.at(-1)).toMatchObject({ code: 'ERR_COLLECTIVE_PEER_SILENT' });
    // Not before three heartbeats (600 ms) of silence.
    expect(Number(/nothing received for (\d+) ms/.exec((a.closes.at(-1) as Error).message)![1])).toBeGreaterThan(600);
    expect(time.now - cutAt).toBeGreaterThan(600);
  });

  it('a link whose bytes keep arriving (a large message, seconds long) is not silent; once they stop, it is dropped after three heartbeats', () => {
    const { time, network, a, b, link } = world();
    const { out, links } = link();
    time.advance(time.now + 100);
    expect(out.open).toBe(true);
    // Nothing whole arrives either way from now on, but bytes do, as while a long message is
    // on its way (TcpLink counts them).
    network.cut(0, 1);
    let bytes = 0;
    for (const end of links) Object.defineProperty(end, 'bytesReceived', { get: () => bytes });
    for (let step = 0; step < 30; step++) {
      bytes += 65_536;
      time.advance(time.now + 100);
    }
    expect(out.closed).toBe(false);
    const stoppedAt = time.now;
    time.advance(time.now + 2000);
    expect(out.closed).toBe(true);
    expect(a.closes.at(-1)).toMatchObject({ code: 'ERR_COLLECTIVE_PEER_SILENT' });
    expect(b.closes.at(-1)).toMatchObject({ code: 'ERR_COLLECTIVE_PEER_SILENT' });
    expect(time.now - stoppedAt).toBeGreaterThan(600);
  });

  it('a peer restarted with its state (same id, new incarnation) replaces its life before, whose link is dead but not yet noticed; a second route to the same life is still refused', () => {
    const { time, network, a, b, link } = world();
    const { out: before } = link();
    time.advance(time.now + 100);
    expect(a.protocol.isUp(before)).toBe(true);
    // b's process dies without a word (the link goes silent), and comes back from its disk at
    // the same address, as itself: a replica from its snapshot, a new protocol.
    network.cut(0, 1);
    const clock = time.clock(() => 0);
    const again = Replica.fromSnapshot(JSON.parse(JSON.stringify(b.replica.snapshot())), { id: 'hubB' as NodeId, now: () => clock.now() });
    const restarted = new PeerProtocol(again, SETTINGS, clock, () => undefined);
    const links = network.connect(0, 2, 'a>b again');
    restarted.open(links[1], 'in', { address: 'a', warnAs: 'a' });
    const after = a.protocol.open(links[0], 'out', { address: 'b', warnAs: 'b' });
    time.advance(time.now + 100);
    expect(before.closed).toBe(true);
    expect(a.closes.some((reason) => (reason as { code?: string } | undefined)?.code === 'ERR_COLLECTIVE_PEER_RESTARTED')).toBe(true);
    expect(a.protocol.isUp(after)).toBe(true);
    a.replica.set('x', 1);
    time.advance(time.now + 100);
    expect(again.get('x')).toBe(1);
    // The same life reached at a second address: one stream is enough.
    const second = network.connect(0, 2, 'a>b second route');
    restarted.open(second[1], 'in', { address: 'a', warnAs: 'a' });
    const duplicate = a.protocol.open(second[0], 'out', { address: 'b-other', warnAs: 'b-other' });
    time.advance(time.now + 100);
    expect(duplicate.closed).toBe(true);
    expect(a.closes.at(-1)).toMatchObject({ code: 'ERR_COLLECTIVE_DUPLICATE_ROUTE' });
    expect(a.protocol.isUp(after)).toBe(true);
    restarted.close();
  });

  it('a peer that never completes the handshake is dropped at handshakeTimeoutMs (ERR_COLLECTIVE_HANDSHAKE_TIMEOUT)', () => {
    const { time, network, a } = world(CALM, { handshakeTimeoutMs: 400 });
    const [mine] = network.connect(0, 1, 'a>nobody'); // nobody runs the protocol on the other end
    const session = a.protocol.open(mine, 'out', { address: 'nobody', warnAs: 'nobody' });
    time.advance(time.now + 399);
    expect(session.closed).toBe(false);
    time.advance(time.now + 2);
    expect(a.closes.at(-1)).toMatchObject({ code: 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT' });
  });

  it('a frame the wire guards refuse closes the link with its code, before anything of it applies', () => {
    const { time, a, b, link } = world();
    const { links } = link();
    time.advance(time.now + 100);
    // b receives a's stream: a run whose path is __proto__ is refused whole.
    links[0].send({ t: 'ops', p: ['hubA', 1, 1_000_000, [['ok'], ['__proto__', 'x']], 0, 0, 1, 0, 0, 0, 1, 2, 0, 1] });
    time.advance(time.now + 100);
    expect(b.closes.at(-1)).toMatchObject({ code: 'ERR_COLLECTIVE_PROTOCOL' });
    expect(b.replica.get()).toEqual({});
    expect(a.closes.length).toBe(1);
  });

  it('a stream that loses frames on a link that stays up still delivers every write (gaps and lost deltas are asked for again)', () => {
    const { time, network, a, b, link } = world();
    const { out } = link();
    time.advance(time.now + 100);
    expect(out.open).toBe(true);
    network.faults = { loss: 0.2, duplicate: 0.1, reorder: 0.2, maxDelayMs: 20 };
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 10; i++) a.replica.incr(['n', String(i % 3)], 1);
      time.advance(time.now + 30);
    }
    network.faults = CALM;
    time.advance(time.now + 3000);
    expect(out.closed).toBe(false);
    expect(b.replica.get()).toEqual(a.replica.get());
    expect(b.replica.get()).toEqual({ n: { 0: 200, 1: 150, 2: 150 } });
    expect(b.replica.vector()).toEqual(a.replica.vector());
    expect(network.faultsSeen.lost).toBeGreaterThan(10);
  });
});
