/**
 * What a hub counts as it runs, for `stats()` and the dashboard: ops applied (and how many of
 * them per second, sampled once a second by a timer that keeps no process alive), its own
 * writes, expiries fired, and the folds it made alone.
 */
export class HubCounters {
  /** Ops applied to the replica, from anywhere. */
  opsApplied = 0;
  /** Ops this hub stamped (its own writes and its members'). */
  opsLocal = 0;
  /** Expiries that came due by this hub's clock. */
  expiriesFired = 0;
  /** GC rounds this hub ran alone (linked hubs count theirs in Folding). */
  soloFolds = 0;
  /** When the hub started (ms since the epoch). */
  readonly startedAt = Date.now();
  #sampledOps = 0;
  #opsPerSecond = 0;
  readonly #rateTimer: NodeJS.Timeout;

  constructor() {
    this.#rateTimer = setInterval(() => {
      this.#opsPerSecond = this.opsApplied - this.#sampledOps;
      this.#sampledOps = this.opsApplied;
    }, 1000);
    this.#rateTimer.unref();
  }

  /** Ops applied over the last whole second. */
  get opsPerSecond(): number {
    return this.#opsPerSecond;
  }

  /** Stops the sampling timer. */
  stop(): void {
    clearInterval(this.#rateTimer);
  }
}
