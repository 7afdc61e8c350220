import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../../lib/core/clock.js';
import { NameClaim } from '../../../lib/mesh/redis/name-claim.js';
import type { Announcement } from '../../../lib/wire/redis.js';

const other = 'bbbbbbbbbbbb' as NodeId;
const message = { vector: {}, clock: { wall: 0, count: 0, node: other }, members: [other], retired: [] };
const said = (at: number, extra: Partial<Announcement> = {}): Announcement => ({ id: other, incarnation: 'i', at, name: 'web-1', message, ...extra });

describe('claiming a redis.name', () => {
  it('is free at once when nobody under the name announced lately, or the one who did left', () => {
    const claim = new NameClaim('web-1', 'g', 1300);
    expect(claim.free([said(1000)], 5000)).toBe(true); // silent for 4 s: an earlier life
    expect(claim.free([said(4900, { left: true })], 5000)).toBe(true);
    expect(claim.free([said(4900, { name: 'web-2' })], 5000)).toBe(true);
  });

  it('waits for a heartbeat of a holder that announced lately: alive if it announces again, free once it stays silent', () => {
    const alive = new NameClaim('web-1', 'g', 1300);
    expect(alive.free([said(4900)], 5000)).toBe(false);
    expect(() => alive.free([said(5000)], 5100)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_REDIS_NAME_IN_USE', message: expect.stringContaining(other) }));
    const dead = new NameClaim('web-1', 'g', 1300);
    expect(dead.free([said(4900)], 5000)).toBe(false);
    expect(dead.free([said(4900)], 6000)).toBe(false);
    expect(dead.free([said(4900)], 6400)).toBe(true);
  });

  it('does not take an earlier announcement (Redis restarted from its file) for a heartbeat', () => {
    const claim = new NameClaim('web-1', 'g', 1300);
    expect(claim.free([said(4900)], 5000)).toBe(false);
    expect(claim.free([said(4700)], 5200)).toBe(false);
  });
});
