import { isAfter, type Stamp } from '../core/clock.js';
import type { Replica } from '../core/replica.js';
import type { MeshClock } from './clock.js';
import { GC_PACE_MS } from './membership.js';

/**
 * Folds a linked hub's op records away at the pace frontiers travel (GC_PACE_MS), up to the
 * horizon its protocol says every hub of the group has seen: so that they die young. One
 * place for that pacing, for hubs and for the simulator alike.
 */
export class Folding {
  readonly #replica: Replica;
  readonly #horizon: () => Stamp | undefined;
  readonly #stop: () => void;
  /** Rounds that folded. */
  runs = 0;
  /** Rounds that could not fold: a hub of the group down or not heard from lately. */
  waits = 0;

  readonly #folded: ((horizon: Stamp) => void) | undefined;

  /** `folded` hears of every horizon folded at (a hub tells its members: see HubRelay.horizon). */
  constructor(replica: Replica, clock: MeshClock, horizon: () => Stamp | undefined, paceMs = GC_PACE_MS, folded?: (horizon: Stamp) => void) {
    this.#replica = replica;
    this.#horizon = horizon;
    this.#folded = folded;
    this.#stop = clock.every(paceMs, () => this.run());
  }

  /** One round: folds up to the horizon, if there is one past what was folded already. */
  run(): void {
    const horizon = this.#horizon();
    if (horizon === undefined) {
      this.waits++;
      return;
    }
    const folded = this.#replica.foldedTo;
    if (folded !== undefined && !isAfter(horizon, folded)) return;
    this.#replica.collect(horizon);
    this.runs++;
    this.#folded?.(horizon);
  }

  stop(): void {
    this.#stop();
  }
}
