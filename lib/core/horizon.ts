import { compareStamps, type NodeId, type Stamp } from './clock.js';

/** Per origin, the last contiguous sequence number applied and its stamp. */
export interface VersionEntry {
  readonly seq: number;
  readonly stamp: Stamp;
}

/** A version vector with stamps: per origin, how far a replica has applied. */
export type VersionVector = Readonly<Record<string, VersionEntry>>;

/**
 * What a replica knows, taken at one instant: its version vector, and its clock, below which
 * it will never stamp another write.
 */
export interface Frontier {
  readonly id: NodeId;
  readonly clock: Stamp;
  readonly vector: VersionVector;
  /**
   * Per origin, the highest seq it holds beyond its contiguous vector (ops that came before
   * the ones between), where it holds any: those exist, and will spread, even if no vector
   * shows them yet.
   */
  readonly held?: Readonly<Record<string, number>>;
  /** The highest horizon it folded at, if any (see Replica.heardFold). */
  readonly folded?: Stamp;
}

/**
 * The GC horizon of a group of replicas: the latest stamp such that every replica in the group
 * has applied every op, present or future, stamped at or below it. `undefined` when no such
 * stamp is known yet.
 *
 * `frontiers` must hold the latest frontier of every live replica (a stale one is safe, just
 * conservative). An origin with no frontier is retired (its replica is gone for good): it
 * constrains the horizon only until every live replica holds the same prefix of its ops, and
 * none holds any of its ops beyond that prefix (`held`): such an op would spread later, and
 * must not land below the fold.
 */
export function computeHorizon(frontiers: readonly Frontier[]): Stamp | undefined {
  if (frontiers.length === 0) return undefined;
  const origins = new Set<string>();
  for (const frontier of frontiers) {
    origins.add(frontier.id);
    for (const origin of Object.keys(frontier.vector)) origins.add(origin);
  }
  let horizon: Stamp | undefined;
  for (const origin of origins) {
    let least: VersionEntry | undefined;
    let leastSeq = Infinity;
    let mostSeq = 0;
    for (const frontier of frontiers) {
      const entry = frontier.vector[origin];
      const seq = entry?.seq ?? 0;
      if (seq < leastSeq) {
        leastSeq = seq;
        least = entry;
      }
      mostSeq = Math.max(mostSeq, seq, frontier.held?.[origin] ?? 0);
    }
    const owner = frontiers.find((frontier) => frontier.id === origin);
    let safe: Stamp | undefined;
    if (owner !== undefined && leastSeq >= (owner.vector[origin]?.seq ?? 0)) {
      // Everyone holds what the owner had issued when it read its clock; all it issues later
      // is stamped after that reading.
      safe = owner.clock;
    } else if (owner === undefined && leastSeq === mostSeq) {
      continue;
    } else {
      if (least === undefined) return undefined;
      safe = least.stamp;
    }
    if (horizon === undefined || compareStamps(safe, horizon) < 0) horizon = safe;
  }
  return horizon;
}
