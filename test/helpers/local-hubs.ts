import { afterEach } from 'vitest';
import { Collective, type StartOptions } from '../../lib/index.js';

/**
 * Hubs in the test's own process, listening on an ephemeral loopback port with `defaults`,
 * all closed after each test. Returns `start` and the `address` others dial a hub at.
 */
export function localHubs(defaults: StartOptions): {
  start(options?: StartOptions): Promise<Collective>;
  address(hub: Collective): { host: string; port: number };
  /** The hubs started in this test (to forget some after closing them). */
  readonly started: Collective[];
} {
  const started: Collective[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((hub) => hub.close()));
  });
  return {
    started,
    async start(options = {}) {
      const hub = await Collective.start({ listen: { host: '127.0.0.1', port: 0 }, ...defaults, ...options });
      started.push(hub);
      return hub;
    },
    address: (hub) => ({ host: '127.0.0.1', port: hub.port! }),
  };
}
