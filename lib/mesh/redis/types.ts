import type { DecodeLimits } from '../../core/codec.js';
import type { RedisHubStats } from './heard-hubs.js';

// The types a hub's Redis tier (mesh/redis/tier.ts) is configured with, emits and reports.

export type { RedisHubStats } from './heard-hubs.js';

/** The settings of a hub's Redis tier, every one given (see DEFAULTS). */
export interface RedisTierSettings {
  readonly group: string;
  /** The name this hub runs under (one live hub per name); a hub under it before is gone for good. */
  readonly name: string | undefined;
  /** How often the hub announces its frontier and reads the others'. */
  readonly announceMs: number;
  /** How often the leader (the lowest live id) writes a snapshot, when something changed. */
  readonly snapshotMs: number;
  /** Own ops kept in memory for a second append (see OwnStream). */
  readonly maxQueuedOps: number;
  /** Most ops per stream entry (OPS_PER_ENTRY unless given: the simulator makes it small). */
  readonly opsPerEntry?: number;
  /** A clean close leaves the group for good (a hub without `persist`: its id never comes back). */
  readonly leaves: boolean;
  /** How long start() waits for a first round with Redis. */
  readonly startTimeoutMs: number;
  readonly limits: DecodeLimits & { maxEntryBytes: number; maxSnapshotBytes: number };
}

/** Events of the Redis tier. */
export interface RedisTierEvents {
  /** A hub of the group announced itself (first, or again after being silent). */
  'peer:up': [id: string, address: string];
  /** A hub of the group has been silent past the heartbeat, or left. */
  'peer:down': [id: string, address: string];
}

/** Counters of a hub's Redis tier. */
export interface RedisStats {
  group: string;
  name: string | undefined;
  connected: boolean;
  hubs: RedisHubStats[];
  /** Own ops not yet known to be in this hub's stream (queued while Redis is away). */
  queuedOps: number;
  entriesAppended: number;
  /** Of those, entries rebuilt from the replica: own ops past `maxQueuedOps` no longer kept. */
  entriesRebuilt: number;
  entriesRead: number;
  opsRead: number;
  /** Entries, announcements and snapshots refused as malformed, never applied. */
  rejected: { entries: number; announcements: number; snapshots: number };
  snapshotsWritten: number;
  /** Whether the stored snapshot held everything folded (no op records) when this hub last stored or adopted it. */
  snapshotFolded: boolean;
  /** Snapshots adopted (at start, and to fill a gap). */
  bootstraps: number;
  /** Streams found with a gap at this hub's position (filled by a snapshot, never skipped). */
  gaps: number;
  /** Commands that failed (Redis away). */
  errors: number;
}
