import { describe, expect, it } from 'vitest';
import type { NodeId, Stamp } from '../../lib/core/clock.js';
import { Handshake, type HandshakeSettings, type PeerInfo } from '../../lib/mesh/handshake.js';
import { decodePeerFrame, type WirePeerFrame } from '../../lib/wire/peer.js';

// The handshake that opens every link between hubs, as a state machine over frames: two sides
// exchange what each says, through JSON and the wire guards, as a link would carry it. (Over
// real sockets, and with the timeout, in test/mesh/session.test.ts and tcp-mesh.test.ts.)
const limits = { maxDepth: 32, maxValueBytes: 1024 };
const NOW = 1_700_000_000_000;

const settings = (id: string, extra: Partial<HandshakeSettings> = {}): HandshakeSettings => ({
  id: id as NodeId,
  wall: NOW,
  maxClockSkewMs: 60_000,
  ...extra,
});

const carry = (frame: WirePeerFrame) => decodePeerFrame(JSON.parse(JSON.stringify(frame)), limits);

type Outcome = { peer: PeerInfo } | { error: Error & { code?: string } };

/** Runs both sides to their end: each side's outcome. */
function run(a: HandshakeSettings, b: HandshakeSettings, now = NOW): [Outcome, Outcome] {
  const sides = [new Handshake(a), new Handshake(b)];
  const outcomes: (Outcome | undefined)[] = [undefined, undefined];
  const queues: WirePeerFrame[][] = [[sides[0]!.start()], [sides[1]!.start()]]; // queues[i]: frames side i sent
  for (let round = 0; round < 10 && outcomes.some((o) => o === undefined); round++) {
    for (const [to, from] of [[1, 0], [0, 1]] as const) {
      const frame = queues[from]!.shift();
      if (frame === undefined || outcomes[to] !== undefined) continue;
      try {
        const { reply, peer } = sides[to]!.receive(carry(frame), now);
        if (reply !== undefined) queues[to]!.push(reply);
        if (peer !== undefined) outcomes[to] = { peer };
      } catch (error) {
        outcomes[to] = { error: error as Error };
      }
    }
  }
  return outcomes as [Outcome, Outcome];
}

const failed = (outcome: Outcome) => ('error' in outcome ? outcome.error : undefined);
const peerOf = (outcome: Outcome) => ('peer' in outcome ? outcome.peer : undefined);

describe('the handshake between hubs', () => {
  it('succeeds both ways without a secret, telling each side who the other is', () => {
    const [a, b] = run(settings('hubA', { listenPort: 8124 }), settings('hubB'));
    expect(peerOf(a)).toMatchObject({ id: 'hubB' });
    expect(peerOf(b)).toMatchObject({ id: 'hubA', listenPort: 8124 });
  });

  it('tells each side the incarnation of the other (one per start of a hub), and refuses a malformed one', () => {
    const [a] = run(settings('hubA', { incarnation: '0123456789abcdef' }), settings('hubB', { incarnation: 'fedcba9876543210' }));
    expect(peerOf(a)).toMatchObject({ id: 'hubB', incarnation: 'fedcba9876543210' });
    const hello = JSON.parse(JSON.stringify(new Handshake(settings('hubB', { incarnation: 'fedcba9876543210' })).start()));
    for (const bad of ['short', 42, 'FEDCBA9876543210', '{"__proto__":1}']) {
      expect(() => decodePeerFrame({ ...hello, p: { ...hello.p, i: bad } }, limits), String(bad)).toThrow(/incarnation/);
    }
  });

  it('succeeds with the same secret on both sides (the proof travels, never the secret)', () => {
    const [a, b] = run(settings('hubA', { secret: 'shared' }), settings('hubB', { secret: 'shared' }));
    expect(peerOf(a)?.id).toBe('hubB');
    expect(peerOf(b)?.id).toBe('hubA');
    const auth = new Handshake(settings('hubA', { secret: 'shared' }));
    const hello = carry(new Handshake(settings('hubB', { secret: 'shared' })).start());
    expect(JSON.stringify(auth.receive(hello, NOW).reply)).not.toContain('shared');
  });

  it('fails on both sides with a wrong secret (ERR_COLLECTIVE_AUTH)', () => {
    for (const outcome of run(settings('hubA', { secret: 'shared' }), settings('hubB', { secret: 'guessed' }))) {
      expect(failed(outcome)).toMatchObject({ name: 'AuthError', code: 'ERR_COLLECTIVE_AUTH' });
    }
  });

  it('fails when only one side has a secret (ERR_COLLECTIVE_AUTH_MISMATCH), saying which side has none', () => {
    const [a, b] = run(settings('hubA', { secret: 'shared' }), settings('hubB'));
    expect(failed(a)).toMatchObject({ code: 'ERR_COLLECTIVE_AUTH_MISMATCH', message: expect.stringMatching(/this hub has a `secret` and the peer hubB has none/) });
    expect(failed(b)).toMatchObject({ code: 'ERR_COLLECTIVE_AUTH_MISMATCH', message: expect.stringMatching(/the peer hubA has a `secret` and this hub has none/) });
  });

  it('refuses a peer whose clock is too far off, saying by how much (ERR_COLLECTIVE_CLOCK_SKEW)', () => {
    const [a] = run(settings('hubA'), settings('hubB', { wall: NOW + 120_000 }));
    expect(failed(a)).toMatchObject({ code: 'ERR_COLLECTIVE_CLOCK_SKEW', message: expect.stringMatching(/hubB's clock differs from this hub's by 120000 ms, more than maxClockSkewMs \(60000 ms\)/) });
  });

  it('tells each side the other’s hybrid clock and GC horizon, and refuses ones too far ahead', () => {
    const hybrid: Stamp = { wall: NOW + 500, count: 3, node: '~' as NodeId };
    const horizon: Stamp = { wall: NOW - 500, count: 0, node: 'hubB' as NodeId };
    const [a] = run(settings('hubA'), settings('hubB', { hybrid, horizon }));
    expect(peerOf(a)).toMatchObject({ hybrid, horizon });
    const [c] = run(settings('hubC'), settings('hubD', { hybrid: { ...hybrid, wall: NOW + 3_600_000 } }));
    expect(failed(c)).toMatchObject({ code: 'ERR_COLLECTIVE_CLOCK_SKEW', message: expect.stringMatching(/hybrid clock is 3600000 ms ahead/) });
  });

  it('refuses a peer that skips the handshake (ERR_COLLECTIVE_PROTOCOL), and the wire guards refuse a bad hello', () => {
    const side = new Handshake(settings('hubA'));
    expect(() => side.receive(carry({ t: 'ops', p: ['x', 1, 1, [['a']], 0, 0, 1, 0, 0] }), NOW)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_PROTOCOL', message: 'expected hello, got ops' }));
    expect(() => carry({ t: 'hello', p: { id: '__proto__ x', w: 1, c: 0, n: 'zz', a: 0 } })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_PROTOCOL' }));
  });

  it('refuses to talk to itself (ERR_COLLECTIVE_SELF_CONNECT)', () => {
    const [a] = run(settings('same'), settings('same'));
    expect(failed(a)).toMatchObject({ code: 'ERR_COLLECTIVE_SELF_CONNECT' });
  });

  it('names the peer as soon as its hello arrives, before checking it', () => {
    const side = new Handshake(settings('hubA', { secret: 'x' }));
    expect(side.introduced).toBeUndefined();
    expect(() => side.receive(carry(new Handshake(settings('hubB', { wall: NOW - 999_999 })).start()), NOW)).toThrow();
    expect(side.introduced?.id).toBe('hubB');
  });
});
