import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import type { VersionVector } from '../../lib/core/horizon.js';
import { peerLag } from '../../lib/mesh/lag.js';

const me = 'me' as NodeId;
const entry = (seq: number, wall: number) => ({ seq, stamp: { wall, count: 0, node: me } });

describe('peerLag: how far a peer trails this hub, from its frontier', () => {
  it('counts the writes it has not confirmed, and the write time between its latest and this hub\'s latest', () => {
    const own: VersionVector = { [me]: entry(10, 5000) };
    expect(peerLag(own, { [me]: entry(10, 5000) }, me)).toEqual({ behind: 0, lagMs: 0 });
    expect(peerLag(own, { [me]: entry(7, 4200) }, me)).toEqual({ behind: 3, lagMs: 800 });
    // It has none of this hub's writes yet: behind all of them, by a time not kept.
    expect(peerLag(own, {}, me)).toEqual({ behind: 10, lagMs: undefined });
    // This hub wrote nothing: nothing to trail.
    expect(peerLag({}, { [me]: entry(3, 100) }, me)).toEqual({ behind: 0, lagMs: 0 });
  });
});
