import type { Replica } from '../core/replica.js';
import type { Folding } from '../mesh/gc.js';
import type { PeerProtocol } from '../mesh/protocol.js';
import type { RedisTier } from '../mesh/redis/tier.js';
import type { TcpMesh } from '../mesh/tcp/mesh.js';
import type { CollectiveStats } from '../types.js';
import type { HubCounters } from './counters.js';
import type { DashboardSlot } from './dashboard-slot.js';
import type { Persistence } from './persist/persistence.js';
import type { HubRelay } from './relay.js';

/** The parts of a hub its stats are read from (those it runs without are undefined). */
export interface HubParts {
  readonly id: string;
  readonly replica: Replica;
  readonly relay: HubRelay;
  readonly counters: HubCounters;
  readonly dashboard: DashboardSlot;
  readonly protocol: PeerProtocol | undefined;
  readonly mesh: TcpMesh | undefined;
  readonly redis: RedisTier | undefined;
  readonly folding: Folding | undefined;
  readonly persistence: Persistence | undefined;
}

/** A hub's `stats()`, with `metadata` counted by the caller (a walk of the whole trie). */
export function hubStats(parts: HubParts, metadata: CollectiveStats['metadata']): CollectiveStats {
  const { replica, counters, protocol, redis, persistence, dashboard } = parts;
  const relay = parts.relay.stats();
  const rejections = protocol?.rejections;
  const peers = parts.mesh?.peers() ?? [];
  return {
    id: parts.id,
    peers,
    connections: protocol?.sessionCount ?? 0,
    rejectedFrames: rejections?.rejectedFrames ?? 0,
    authFailures: rejections?.authFailures ?? 0,
    handshakeTimeouts: rejections?.handshakeTimeouts ?? 0,
    rejections: rejections?.byCode() ?? {},
    opsApplied: counters.opsApplied,
    opsPerSecond: counters.opsPerSecond,
    queuedBytes: relay.queuedBytes + peers.reduce((sum, peer) => sum + peer.queuedBytes, 0),
    opsLocal: counters.opsLocal,
    members: relay.members,
    memberList: relay.list,
    rejectedMessages: relay.rejectedMessages,
    rejectedIntents: relay.rejectedIntents,
    watchers: replica.watcherCount(),
    metadata,
    gc: {
      runs: (parts.folding?.runs ?? 0) + counters.soloFolds,
      waits: parts.folding?.waits ?? 0,
      members: protocol?.members ?? redis?.members ?? 0,
      horizon: replica.foldedTo?.wall,
    },
    expiry: { fired: counters.expiriesFired, nextDue: replica.nextDue() },
    startedAt: counters.startedAt,
    ...(persistence === undefined ? {} : { persist: persistence.stats() }),
    ...(redis === undefined ? {} : { redis: redis.stats() }),
    ...(dashboard.url === undefined ? {} : { dashboard: dashboard.stats() }),
  };
}

/**
 * The metadata count for stats read every second (the dashboard's): a walk of the whole trie
 * (0.9 s with a million live nodes), so taken again only once 50 times its last cost has
 * passed: at most 2% of the hub's time.
 */
export class SampledMetadata {
  readonly #count: () => CollectiveStats['metadata'];
  #sample: { value: CollectiveStats['metadata']; until: number } | undefined;

  constructor(count: () => CollectiveStats['metadata']) {
    this.#count = count;
  }

  /** The last count, or a new one once the last is old enough. */
  read(): CollectiveStats['metadata'] {
    const now = performance.now();
    if (this.#sample === undefined || now >= this.#sample.until) {
      const value = this.#count();
      this.#sample = { value, until: now + 50 * (performance.now() - now) };
    }
    return this.#sample.value;
  }
}
