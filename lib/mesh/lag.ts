import type { VersionVector } from '../core/horizon.js';

/** How far a peer trails this hub's own writes, from the latest frontier it told. */
export interface PeerLag {
  /** This hub's writes it has not confirmed yet. */
  behind: number;
  /**
   * How much older, in this hub's write time, the latest of its writes the peer confirmed is
   * than the latest it made: 0 when the peer has them all; undefined when it has confirmed none
   * (the time of this hub's first write is not kept).
   */
  lagMs: number | undefined;
}

/**
 * The lag of a peer whose latest frontier showed `seen`, behind `own` (this hub's vector), for
 * this hub's writes (`origin`). Both figures come from the vectors' entries, which carry the
 * stamp of their last op: nothing is kept per op for them.
 */
export function peerLag(own: VersionVector, seen: VersionVector, origin: string): PeerLag {
  const mine = own[origin];
  if (mine === undefined) return { behind: 0, lagMs: 0 };
  const theirs = seen[origin];
  const behind = Math.max(0, mine.seq - (theirs?.seq ?? 0));
  if (behind === 0) return { behind, lagMs: 0 };
  return { behind, lagMs: theirs === undefined ? undefined : Math.max(0, mine.stamp.wall - theirs.stamp.wall) };
}
