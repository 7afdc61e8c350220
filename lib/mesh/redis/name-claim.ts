import type { NodeId } from '../../core/clock.js';
import { CollectiveError } from '../../errors.js';
import type { Announcement } from '../../wire/redis.js';

/**
 * Whether a starting hub may take its `redis.name`. Another hub under the name that announced
 * lately may be alive, or killed a moment ago: it is watched for a heartbeat. One that announces
 * again, at a later time, is alive (ERR_COLLECTIVE_REDIS_NAME_IN_USE); one silent past the
 * heartbeat was an earlier life of the name. (A Redis restarted from its file may show an
 * earlier announcement than the one watched: that is not a heartbeat.)
 */
export class NameClaim {
  readonly #name: string;
  readonly #group: string;
  readonly #maxAgeMs: number;
  // Hubs under the name that announced lately: their time then, and since when they are watched.
  readonly #watched = new Map<NodeId, { at: number; since: number }>();

  constructor(name: string, group: string, maxAgeMs: number) {
    this.#name = name;
    this.#group = group;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Whether the name is free now, by the group's announcements read at `now`; throws when another live hub holds it. */
  free(announcements: readonly Announcement[], now: number): boolean {
    let free = true;
    for (const announcement of announcements) {
      if (announcement.name !== this.#name || announcement.left === true || now - announcement.at > this.#maxAgeMs) continue;
      const watched = this.#watched.get(announcement.id);
      if (watched === undefined) this.#watched.set(announcement.id, { at: announcement.at, since: now });
      else if (announcement.at > watched.at) {
        throw new CollectiveError('ERR_COLLECTIVE_REDIS_NAME_IN_USE', `Hub ${announcement.id} of group ${this.#group} runs under the name ${this.#name}: give each hub its own redis.name`);
      } else if (now - watched.since > this.#maxAgeMs) continue;
      free = false;
    }
    return free;
  }
}
