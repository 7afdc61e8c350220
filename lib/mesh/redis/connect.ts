import type { Replica } from '../../core/replica.js';
import { DEFAULTS } from '../../defaults.js';
import type { Logger } from '../../log.js';
import { systemClock } from '../clock.js';
import { NodeRedisStore } from './node-redis.js';
import { RedisTier } from './tier.js';

/** The `redis` option, checked and completed (hub/settings.ts). */
export interface RedisGroupSettings {
  readonly url: string;
  readonly group: string;
  readonly name: string | undefined;
  readonly client: Record<string, unknown>;
  readonly announceMs: number;
  readonly snapshotMs: number;
  readonly maxQueuedOps: number;
}

/** What a hub gives its Redis tier: the `redis` option checked, and the limits of what it reads. */
export interface RedisConnectSettings extends RedisGroupSettings {
  readonly maxDepth: number;
  readonly maxValueBytes: number;
  readonly maxEntryBytes: number;
  /** A clean close leaves the group for good (a hub without `persist`). */
  readonly leaves: boolean;
  /** How long starting waits for a first round with Redis. */
  readonly startTimeoutMs: number;
}

/**
 * The Redis tier of a hub on node-redis and the system clock: loads the `redis` package
 * (ERR_COLLECTIVE_REDIS_MISSING without it) and starts connecting; the tier is returned at
 * once, before Redis answers.
 */
export async function connectRedisTier(replica: Replica, settings: RedisConnectSettings, log: Logger): Promise<RedisTier> {
  const store = await NodeRedisStore.open({ ...settings.client, url: settings.url }, log);
  return new RedisTier(
    replica,
    store,
    {
      group: settings.group,
      name: settings.name,
      announceMs: settings.announceMs,
      snapshotMs: settings.snapshotMs,
      maxQueuedOps: settings.maxQueuedOps,
      leaves: settings.leaves,
      startTimeoutMs: settings.startTimeoutMs,
      limits: { maxDepth: settings.maxDepth, maxValueBytes: settings.maxValueBytes, maxEntryBytes: settings.maxEntryBytes, maxSnapshotBytes: DEFAULTS.redisMaxSnapshotBytes },
    },
    systemClock,
    log,
  );
}
