import { inputTypeError } from '../errors.js';
import type { Logger } from '../log.js';
import { Dashboard, type DashboardSource } from '../dashboard/server.js';
import type { DashboardSettings } from '../dashboard/settings.js';
import type { CollectiveStats } from '../types.js';

/**
 * A hub's one dashboard: opened at start (the `dashboard` option) or later (`serveDashboard`),
 * closed with the hub, even if the hub closes while it is still opening.
 */
export class DashboardSlot {
  readonly #source: DashboardSource;
  readonly #maxDepth: number;
  readonly #log: Logger;
  #opening: Promise<Dashboard> | undefined;
  #served: Dashboard | undefined;
  #closed = false;

  constructor(source: DashboardSource, maxDepth: number, log: Logger) {
    this.#source = source;
    this.#maxDepth = maxDepth;
    this.#log = log;
  }

  /** Serves the dashboard; rejects if it cannot listen, or if one is served already. */
  open(settings: DashboardSettings): Promise<Dashboard> {
    if (this.#opening !== undefined) return Promise.reject(inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', 'This hub serves its dashboard already (one per hub)'));
    const opening = Dashboard.open(this.#source, settings, this.#maxDepth, this.#log);
    this.#opening = opening;
    return opening.then(
      async (dashboard) => {
        if (this.#closed) await dashboard.close();
        else this.#served = dashboard;
        return dashboard;
      },
      (error: unknown) => {
        this.#opening = undefined;
        throw error;
      },
    );
  }

  /** Its address once it serves (`http://host:port/`). */
  get url(): string | undefined {
    return this.#served?.url;
  }

  /** What `stats().dashboard` shows, once it serves. */
  stats(): CollectiveStats['dashboard'] {
    return this.#served === undefined ? undefined : { url: this.#served.url, ...this.#served.stats() };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#served?.close();
  }
}
