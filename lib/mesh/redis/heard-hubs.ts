import type { NodeId } from '../../core/clock.js';
import type { VersionVector } from '../../core/horizon.js';
import type { Logger } from '../../log.js';
import { MAX_GROUP_IDS } from '../../wire/peer.js';
import { decodeAnnouncement, type Announcement } from '../../wire/redis.js';
import { peerLag } from '../lag.js';

/** One hub of the group as `stats().redis` shows it. */
export interface RedisHubStats {
  id: string;
  name: string | undefined;
  /** Milliseconds since its last announcement, by this hub's clock. */
  silentMs: number;
  /** It closed for good. */
  left: boolean;
  /** This hub's writes it has not read yet (from its announcement). */
  behind: number;
  /** The same lag in write time (see PeerStats.lagMs). */
  lagMs: number | undefined;
  /** How far its clock is ahead of this hub's, from its latest announcement (give or take `announceMs`). */
  clockOffsetMs: number;
}

/** Whether a hub of the group came up (announced itself, first or again) or went down (silent, or left). */
export type HubChange = 'up' | 'down';

interface Heard {
  announcement: Announcement;
  /** When (by this hub's clock) its announcement last changed. */
  changedAt: number;
  up: boolean;
}

/**
 * The other hubs of a Redis group as their announcements in the group hash tell them: the
 * latest one of each, checked (a malformed one is refused, logged and counted), when it last
 * changed, and whether the hub is up. A hub is down once it left or has been silent past
 * `maxAgeMs`; what that means for GC is the group membership's (mesh/membership.ts), which the
 * tier feeds from the same announcements.
 */
export class HeardHubs {
  readonly #selfId: NodeId;
  readonly #maxAgeMs: number;
  readonly #maxEntryBytes: number;
  readonly #changed: (id: NodeId, change: HubChange) => void;
  readonly #log: Logger;
  readonly #heard = new Map<NodeId, Heard>();
  /** Announcements refused as malformed (and group hashes refused as too large). */
  refused = 0;

  /** `changed` hears of every hub that comes up or goes down. */
  constructor(selfId: NodeId, maxAgeMs: number, maxEntryBytes: number, changed: (id: NodeId, change: HubChange) => void, log: Logger) {
    this.#selfId = selfId;
    this.#maxAgeMs = maxAgeMs;
    this.#maxEntryBytes = maxEntryBytes;
    this.#changed = changed;
    this.#log = log;
  }

  /** The announcements of the other hubs in the group hash, each checked. */
  decode(hashed: Map<string, string> | 'too many'): Announcement[] {
    if (hashed === 'too many') {
      this.refused++;
      this.#log('the group hash holds more than %d hubs: refused', MAX_GROUP_IDS);
      return [];
    }
    const announcements: Announcement[] = [];
    for (const [field, text] of hashed) {
      if (field === this.#selfId) continue;
      try {
        announcements.push(decodeAnnouncement(field, text, this.#maxEntryBytes));
      } catch (error) {
        this.refused++;
        this.#log('refused the announcement under %s: %s', field.slice(0, 40), (error as Error).message);
      }
    }
    return announcements;
  }

  /**
   * Keeps `announcement`, read at `now`; false when it is the one kept already (the same time
   * and incarnation: nothing new to learn from it).
   */
  record(announcement: Announcement, now: number): boolean {
    const before = this.#heard.get(announcement.id);
    if (before !== undefined && before.announcement.at === announcement.at && before.announcement.incarnation === announcement.incarnation) return false;
    this.#heard.set(announcement.id, { announcement, changedAt: now, up: before?.up ?? false });
    return true;
  }

  /** The hub `id` is up (it announced itself and has not left). */
  up(id: NodeId): void {
    const heard = this.#heard.get(id);
    if (heard === undefined || heard.up) return;
    heard.up = true;
    this.#changed(id, 'up');
  }

  /** Every hub that left, or has been silent past `maxAgeMs` at `now`, is down. */
  sweep(now: number): void {
    for (const [id, heard] of this.#heard) {
      if (heard.up && (heard.announcement.left === true || now - heard.changedAt > this.#maxAgeMs)) this.#down(id, heard);
    }
  }

  /** Every hub is down (Redis away: this hub hears nobody). */
  allDown(): void {
    for (const [id, heard] of this.#heard) if (heard.up) this.#down(id, heard);
  }

  #down(id: NodeId, heard: Heard): void {
    heard.up = false;
    this.#changed(id, 'down');
  }

  /** Every hub heard of, up or not. */
  ids(): IterableIterator<NodeId> {
    return this.#heard.keys();
  }

  /** The highest seq of `origin` any hub heard of says it holds (0: none says any). */
  mostHeldOf(origin: NodeId): number {
    let most = 0;
    for (const { announcement } of this.#heard.values()) most = Math.max(most, announcement.message.vector[origin]?.seq ?? 0);
    return most;
  }

  /** Whether no live hub (heard within `maxAgeMs` at `now`, not gone) has an id below `id`. */
  lowestLive(id: NodeId, now: number): boolean {
    for (const [other, heard] of this.#heard) {
      if (heard.announcement.left !== true && now - heard.changedAt <= this.#maxAgeMs && other < id) return false;
    }
    return true;
  }

  /** Every hub heard of, as `stats()` shows it, next to `own` (this hub's vector) at `now`. */
  stats(own: VersionVector, now: number): RedisHubStats[] {
    return [...this.#heard.values()].map(({ announcement, changedAt }) => ({
      id: announcement.id,
      name: announcement.name,
      silentMs: now - changedAt,
      left: announcement.left === true,
      ...peerLag(own, announcement.message.vector, this.#selfId),
      clockOffsetMs: announcement.at - changedAt,
    }));
  }
}
