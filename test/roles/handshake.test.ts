import { afterEach, describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { TcpLink } from '../../lib/links/tcp.js';
import { handshake, type HandshakeOptions } from '../../lib/roles/handshake.js';
import { destroySockets, socketPair } from '../helpers/sockets.js';

const links: TcpLink[] = [];
afterEach(() => {
  for (const link of links.splice(0)) link.close();
  destroySockets();
});

async function pair(): Promise<[TcpLink, TcpLink]> {
  const [a, b] = await socketPair();
  const created: [TcpLink, TcpLink] = [new TcpLink(a, 'a'), new TcpLink(b, 'b')];
  links.push(...created);
  return created;
}

const settings = (id: string, extra: Partial<HandshakeOptions> = {}): HandshakeOptions => ({
  id: id as NodeId,
  clock: () => ({ wall: Date.now(), count: 0, node: id as NodeId }),
  ...extra,
});

describe('handshake between hubs', () => {
  it('succeeds both ways without a secret, telling each side who the other is', async () => {
    const [a, b] = await pair();
    const [toB, toA] = await Promise.all([handshake(a, settings('hubA')), handshake(b, settings('hubB'))]);
    expect(toB.id).toBe('hubB');
    expect(toA.id).toBe('hubA');
  });

  it('succeeds with the same secret on both sides', async () => {
    const [a, b] = await pair();
    const results = await Promise.all([
      handshake(a, settings('hubA', { secret: 'shared' })),
      handshake(b, settings('hubB', { secret: 'shared' })),
    ]);
    expect(results.map((peer) => peer.id)).toEqual(['hubB', 'hubA']);
  });

  it('fails on both sides with a wrong secret (ERR_COLLECTIVE_AUTH)', async () => {
    const [a, b] = await pair();
    const results = await Promise.allSettled([
      handshake(a, settings('hubA', { secret: 'shared' })),
      handshake(b, settings('hubB', { secret: 'guessed' })),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_COLLECTIVE_AUTH' });
    }
  });

  it('fails when only one side has a secret (ERR_COLLECTIVE_AUTH_MISMATCH), saying which side has none', async () => {
    const [a, b] = await pair();
    const results = await Promise.allSettled([handshake(a, settings('hubA', { secret: 'shared' })), handshake(b, settings('hubB'))]);
    for (const result of results) expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_COLLECTIVE_AUTH_MISMATCH' });
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/this hub has a `secret` and the peer hubB has none/);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/the peer hubA has a `secret` and this hub has none/);
  });

  it('refuses a peer whose clock is too far off, saying by how much', async () => {
    const [a, b] = await pair();
    const skewed = settings('hubB', { clock: () => ({ wall: Date.now() + 120_000, count: 0, node: 'hubB' as NodeId }) });
    const [result] = await Promise.allSettled([handshake(a, settings('hubA')), handshake(b, skewed)]);
    expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_COLLECTIVE_CLOCK_SKEW' });
    expect((result as PromiseRejectedResult).reason.message).toMatch(/hubB's clock differs from this hub's by 1\d{5} ms, more than maxClockSkewMs \(60000 ms\)/);
  });

  it('tells each side the other’s hybrid clock and GC horizon, and refuses ones too far ahead', async () => {
    const [a, b] = await pair();
    const now = Date.now();
    const told = settings('hubB', { hybrid: { wall: now + 500, count: 3, node: '~' as NodeId }, horizon: { wall: now - 500, count: 0, node: 'hubB' as NodeId } });
    const [toB] = await Promise.all([handshake(a, settings('hubA')), handshake(b, told)]);
    expect(toB.hybrid).toEqual({ wall: now + 500, count: 3, node: '~' });
    expect(toB.horizon).toEqual({ wall: now - 500, count: 0, node: 'hubB' });
    const [c, d] = await pair();
    const ahead = settings('hubD', { hybrid: { wall: Date.now() + 3_600_000, count: 0, node: '~' as NodeId } });
    const [result] = await Promise.allSettled([handshake(c, settings('hubC')), handshake(d, ahead)]);
    expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_COLLECTIVE_CLOCK_SKEW', message: expect.stringMatching(/hybrid clock is \d+ ms ahead/) });
  });

    it('times out a connection that says nothing', async () => {
    const [a] = await pair();
    await expect(handshake(a, settings('hubA', { timeoutMs: 100 }))).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT' });
  });

  it('refuses a peer that skips the handshake or sends a bad hello', async () => {
    const [a, b] = await pair();
    const pending = handshake(a, settings('hubA'));
    b.send({ t: 'ops', p: [] });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_PROTOCOL', message: expect.stringMatching(/expected hello/) });
    const [c, d] = await pair();
    const second = handshake(c, settings('hubA'));
    d.send({ t: 'hello', p: { id: '__proto__ x', w: 1, c: 0, n: 'zz', a: 0 } });
    await expect(second).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_PROTOCOL' });
  });

  it('refuses to talk to itself', async () => {
    const [a, b] = await pair();
    const results = await Promise.allSettled([handshake(a, settings('same')), handshake(b, settings('same'))]);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_COLLECTIVE_SELF_CONNECT' });
  });
});
