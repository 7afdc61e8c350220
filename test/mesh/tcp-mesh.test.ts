import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Collective, StartOptions } from '../../lib/index.js';
import { localHubs } from '../helpers/local-hubs.js';
import { encodeFrame } from '../../lib/wire/frame.js';
import { newNonce } from '../../lib/wire/auth.js';
import { waitFor } from '../helpers/wait.js';

// Hubs in this process linked over real loopback TCP. (Hubs in separate processes, with
// faults, are in test/mesh.test.ts.)
const { start, address, started: hubs } = localHubs({ heartbeatMs: 200, antiEntropyMs: 300 });

/** n hubs, each knowing all the others (ports are only known once they listen). */
async function group(n: number, options: StartOptions = {}): Promise<Collective[]> {
  const seeds = await Promise.all(Array.from({ length: n }, () => start(options)));
  const addresses = seeds.map(address);
  await Promise.all(seeds.map((hub) => hub.close()));
  hubs.length = 0;
  return Promise.all(addresses.map((listen) => start({ ...options, listen, peers: addresses })));
}

const linked = (hub: Collective, count: number) => () =>
  hub.stats().peers.filter((peer) => peer.outbound === 'up' && peer.inbound).length === count;

describe('hubs linked over TCP', () => {
  it('converge: sets, counters and appends from three hubs end identical everywhere', async () => {
    const [a, b, c] = await group(3);
    await Promise.all([a!, b!, c!].map((hub) => waitFor(linked(hub, 2), 5000, 'full mesh')));
    const writes = [a!, b!, c!].flatMap((hub, who) =>
      Array.from({ length: 100 }, (_, i) => [hub.incr('hits'), hub.append('log', `${who}:${i}`), hub.set(`by.${who}`, i)]).flat(),
    );
    await Promise.all(writes);
    await waitFor(() => [a!, b!, c!].every((hub) => hub.get('hits') === 300 && (hub.get('log') as unknown[]).length === 300), 5000, 'convergence');
    expect(b!.get()).toEqual(a!.get());
    expect(c!.get()).toEqual(a!.get());
    expect(a!.get('by')).toEqual({ 0: 99, 1: 99, 2: 99 });
  });

  it('stats tell each peer’s lag in ops, the bytes queued, and ops/s', async () => {
    const [a, b] = await group(2);
    await waitFor(linked(a!, 1), 5000, 'the link');
    await Promise.all(Array.from({ length: 500 }, () => a!.incr('n')));
    // Until b's frontier confirms them, a's writes count as b's lag; then it drops to 0.
    await waitFor(() => a!.stats().peers[0]!.behind === 0 && b!.get('n') === 500, 5000, 'b to confirm every write');
    const stats = a!.stats();
    expect(stats.peers[0]).toMatchObject({ outbound: 'up', inbound: true, behind: 0 });
    expect(stats.queuedBytes).toBeGreaterThanOrEqual(0);
    await waitFor(() => a!.stats().opsPerSecond > 0, 3000, 'a rate sample');
    expect(a!.stats().opsPerSecond).toBeLessThanOrEqual(a!.stats().opsApplied);
  });

  it('a hub starts alone; a peer that comes up later is dialed, linked and synced', async () => {
    const seed = await start();
    const laterAddress = address(seed);
    await seed.close();
    hubs.length = 0;
    const first = await start({ peers: [laterAddress] });
    await first.set('written', 'before the peer existed');
    expect(first.stats().peers[0]).toMatchObject({ outbound: 'connecting' });
    const later = await start({ listen: laterAddress, peers: [address(first)] });
    await waitFor(() => later.get('written') === 'before the peer existed', 8000, 'the late peer to sync');
    await later.incr('n', 5);
    await waitFor(() => first.get('n') === 5, 5000, 'the first hub to see the late one');
  });

  it('a hub added later, listing the others, joins without restarting anyone', async () => {
    const [a, b] = await group(2);
    await waitFor(linked(a!, 1), 5000, 'the first two');
    await a!.set('old', 'data');
    const newcomer = await start({ peers: [address(a!), address(b!)] });
    await waitFor(() => newcomer.get('old') === 'data', 5000, 'the newcomer to sync');
    await a!.incr('after');
    await b!.incr('after');
    await waitFor(() => newcomer.get('after') === 2, 5000, 'the newcomer to get live writes from hubs that never listed it');
    await newcomer.set('from', 'newcomer');
    await waitFor(() => a!.get('from') === 'newcomer' && b!.get('from') === 'newcomer', 5000, 'the others to hear the newcomer');
    expect(linked(a!, 2)()).toBe(true);
  });

  it('a new hub gets a store bigger than a frame: values and batches over the limit travel split', async () => {
    const small = { maxFrameBytes: 64 * 1024 };
    const first = await start(small);
    const big = 'é'.repeat(150 * 1024); // one value alone is over the frame limit (300 KiB of UTF-8)
    await Promise.all([first.set('big.a', big), first.set('big.b', big), ...Array.from({ length: 5000 }, (_, i) => first.set(`keys.${i}`, i))]);
    const later = await start({ ...small, peers: [address(first)] });
    await waitFor(() => later.get('keys.4999') === 4999 && later.get('big.b') === big, 10_000, 'the new hub to sync');
    expect(later.get()).toEqual(first.get());
    expect(later.stats().rejectedFrames).toBe(0);
    expect(first.stats().rejectedFrames).toBe(0);
  });

  it('a hub restarted without state rejoins under a new id and gets everything back', async () => {
    const [a, b] = await group(2);
    await waitFor(linked(a!, 1), 5000, 'the link');
    for (let i = 0; i < 50; i++) await b!.incr('count');
    await waitFor(() => a!.get('count') === 50, 5000, 'a to see 50');
    const oldId = b!.id;
    const bAddress = address(b!);
    await b!.close();
    const reborn = await start({ listen: bAddress, peers: [address(a!)] });
    expect(reborn.id).not.toBe(oldId);
    await waitFor(() => reborn.get('count') === 50, 8000, 'the reborn hub to catch up');
    await reborn.incr('count');
    await waitFor(() => a!.get('count') === 51, 5000, 'a to see the reborn hub’s write');
  });

  it('with a secret, only hubs that know it link; a wrong secret is refused and counted', async () => {
    const [a, b] = await group(2, { secret: 'the secret' });
    await waitFor(linked(a!, 1), 5000, 'the authenticated link');
    const intruder = await start({ secret: 'a guess', peers: [address(a!)] });
    await intruder.set('evil', true);
    await waitFor(() => a!.stats().authFailures > 0, 5000, 'the failed authentication');
    await b!.set('good', true);
    await waitFor(() => a!.get('good') === true, 5000, 'the legitimate write');
    expect(a!.get('evil')).toBeUndefined();
  });
});

describe('a hub facing strangers on raw sockets', () => {
  async function raw(hub: Collective, bytes: Buffer | (() => Buffer[])): Promise<void> {
    const socket = connect(hub.port!, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume(); // read what the hub says (its hello), or this end never sees the close
    await new Promise((resolve) => socket.once('connect', resolve));
    for (const chunk of typeof bytes === 'function' ? bytes() : [bytes]) socket.write(chunk);
    await new Promise((resolve) => socket.once('close', resolve));
  }

  it('drops garbage, oversized lengths and unknown frames, counts them, and keeps serving', async () => {
    const hub = await start();
    await raw(hub, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await raw(hub, Buffer.from('ffffffff', 'hex'));
    await raw(hub, encodeFrame('teleport', { to: 'mars' }));
    await waitFor(() => hub.stats().rejectedFrames === 3, 3000, 'three rejections');
    await hub.set('still', 'serving');
    expect(hub.get()).toEqual({ still: 'serving' });
    expect(({} as Record<string, unknown>).to).toBeUndefined();
  });

  it('drops a connection that never completes the handshake', async () => {
    const hub = await start({ handshakeTimeoutMs: 100 });
    const socket = connect(hub.port!, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(hub.stats().handshakeTimeouts).toBe(1);
  });

  it('after a valid handshake, applies nothing from a frame with a __proto__ path or a bad value', async () => {
    const hub = await start();
    const frames = (ops: unknown[]) => () => [
      encodeFrame('hello', { id: 'stranger', w: Date.now(), c: 0, n: newNonce(), a: 0 }),
      encodeFrame('ops', ops),
    ];
    // A run of the stranger's ops (core/codec.ts encodeRun): kind 0 is set, 2 is incr; rows
    // name their path by index.
    const run = (paths: unknown[], ...rows: unknown[][]) => ['stranger', 1, Date.now(), paths, ...rows.flat()];
    await raw(hub, frames(run([['ok'], ['__proto__', 'polluted']], [0, 0, 1, 0, 0], [0, 1, true, 0, 1])));
    await raw(hub, frames(run([['ok'], ['n']], [0, 0, 1, 0, 0], [2, 1, 'lots', 0, 1])));
    await raw(hub, frames(run([['ok']], [0, 0, 1, 0, 0], [7, 0, 1, 0, 1])));
    await raw(hub, frames(run([['ok']], [0, 0, 1, 0, 0], [0, 0, 1, -5, 1])));
    await raw(hub, frames([{ k: 'set', p: ['ok'], v: 1, s: 1, w: Date.now(), c: 0, n: 'stranger' }]));
    await waitFor(() => hub.stats().rejectedFrames === 5, 3000, 'five rejections');
    expect(hub.get()).toEqual({});
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('survives a thousand connections opened and abandoned', async () => {
    // Long timeouts: the strangers must still be there when they are counted.
    const hub = await start({ handshakeTimeoutMs: 20_000, heartbeatMs: 10_000 });
    const sockets = Array.from({ length: 1000 }, () => {
      const socket = connect(hub.port!, '127.0.0.1');
      socket.on('error', () => undefined);
      return socket;
    });
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.once('connect', resolve).once('error', resolve))));
    // Every one was taken as a link waiting for its handshake...
    await waitFor(() => hub.stats().connections === 1000, 5000, 'a thousand links handshaking');
    for (const socket of sockets) socket.destroy();
    await hub.set('fine', true);
    expect(hub.get('fine')).toBe(true);
    // ...and none lingers once they are gone (no handshake timeout needed for that).
    await waitFor(() => hub.stats().connections === 0, 3000, 'no lingering link');
    expect(hub.stats().peers).toEqual([]);
    expect(hub.stats().handshakeTimeouts).toBe(0);
  });
});

describe('a hub under random frames (fuzz)', () => {
  it('keeps serving, applies nothing it should not, and leaves Object.prototype alone', { timeout: 60_000 }, async () => {
    const fc = (await import('fast-check')).default;
    const hub = await start({ handshakeTimeoutMs: 300 });
    const types = ['hello', 'auth', 'vector', 'members', 'delta', 'synced', 'snapshot', 'ops', 'ping', 'frontier', 'x'];
    const junkValue = fc.oneof(fc.jsonValue(), fc.constant(JSON.parse('{"__proto__":{"polluted":1}}')));
    const junkOp = fc.record({
      k: fc.oneof(fc.constantFrom('set', 'delete', 'incr', 'append'), fc.string()),
      p: fc.oneof(fc.array(fc.oneof(fc.constantFrom('a', '__proto__', 'constructor', ''), fc.string()), { maxLength: 3 }), fc.string()),
      v: junkValue,
      s: fc.oneof(fc.nat(), fc.integer(), fc.double()),
      w: fc.oneof(fc.nat(), fc.double()),
      c: fc.nat(),
      n: fc.oneof(fc.constant('fuzzer'), fc.string()),
    });
    const junkPath = fc.oneof(fc.array(fc.constantFrom('a', '__proto__', 'prototype', ''), { maxLength: 3 }), fc.string());
    const junkRun = fc.tuple(
      fc.oneof(fc.constant('fuzzer'), fc.string()),
      fc.oneof(fc.nat(), fc.double()),
      fc.nat(),
      fc.array(junkPath, { maxLength: 2 }),
      fc.array(fc.tuple(fc.oneof(fc.nat({ max: 4 }), fc.string()), fc.oneof(fc.nat({ max: 2 }), fc.string()), junkValue, fc.integer(), fc.nat()), { maxLength: 3 }),
    ).map(([node, seq, wall, paths, rows]) => [node, seq, wall, paths, ...rows.flat()]);
    const frame = fc.tuple(fc.constantFrom(...types), fc.oneof(junkValue, fc.array(junkOp, { maxLength: 3 }), junkRun));
    const session = fc.record({
      handshake: fc.boolean(),
      frames: fc.array(frame, { maxLength: 4 }),
      tail: fc.uint8Array({ maxLength: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(session, async ({ handshake, frames, tail }) => {
        const socket = connect(hub.port!, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.resume();
        await new Promise((resolve) => socket.once('connect', resolve));
        if (handshake) socket.write(encodeFrame('hello', { id: 'fuzzer', w: Date.now(), c: 0, n: newNonce(), a: 0 }));
        for (const [type, payload] of frames) socket.write(encodeFrame(type, payload));
        socket.write(Buffer.from(tail));
        socket.destroy();
      }),
      { numRuns: 300 },
    );
    await hub.set('after', 'fuzzing');
    expect(hub.get('after')).toBe('fuzzing');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(hub.stats().rejectedFrames).toBeGreaterThan(0);
    // Whatever the fuzzer managed to apply went through the validators: no forbidden key anywhere.
    const walk = (value: unknown): void => {
      if (typeof value !== 'object' || value === null) return;
      for (const key of Object.keys(value)) {
        expect(['__proto__', 'constructor', 'prototype']).not.toContain(key);
        walk((value as Record<string, unknown>)[key]);
      }
    };
    walk(hub.get());
  });
});

describe('hubs linked over mutual TLS', () => {
  it('link and converge with certificates both ways; a plain TCP hub cannot get in', async () => {
    const { readFileSync } = await import('node:fs');
    const { fixtures } = await import('../helpers/processes.js');
    const cert = readFileSync(`${fixtures}tls/hub-cert.pem`);
    const tlsOptions = { key: readFileSync(`${fixtures}tls/hub-key.pem`), cert, ca: cert };
    const [a, b] = await group(2, { tls: tlsOptions });
    await waitFor(linked(a!, 1), 5000, 'the TLS link');
    await a!.incr('n', 2);
    await b!.incr('n', 3);
    await waitFor(() => a!.get('n') === 5 && b!.get('n') === 5, 5000, 'convergence over TLS');
    const plain = await start({ peers: [address(a!)] });
    await plain.set('sneaky', true);
    await waitFor(() => plain.stats().peers[0]?.outbound === 'down', 5000, 'the plain hub to be refused');
    await a!.set('still', 'fine');
    expect(a!.get('sneaky')).toBeUndefined();
    // With TLS, listening off loopback needs no secret (certificates authenticate peers).
    const open = await start({ listen: { host: '0.0.0.0', port: 0 }, tls: tlsOptions });
    expect(open.port).toBeGreaterThan(0);
  });
});
