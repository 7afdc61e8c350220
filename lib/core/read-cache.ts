import { Generations } from './generations.js';
import { ABSENT } from './node.js';
import { splitPath, type Segments } from './path.js';
import type { ReplicatedTree } from './tree.js';
import type { JsonValue } from './value.js';

/** A read by a string path: its segments, and the value read when its tree stood at `changes`. */
export interface CachedRead {
  readonly segments: Segments;
  value: JsonValue | undefined;
  /** `ReplicatedTree.changes` when `value` was read; NOT_READ before the first read. */
  changes: number;
}

/** The `changes` of an entry not read yet: no count of changes is negative. */
export const NOT_READ = -1;

// Bounded as the path cache of core/path.ts is (Generations). A path missing from it gets an entry only at every CACHE_EVERY_NTH_MISS-th miss: reads spread
// over more keys than the cache holds (measured: 100k keys at random) then skip what keeping
// costs (freezing, inserting, turning the generations over: a third of such a read), while a
// key read often misses about that many times before it has one.
const GENERATION_SIZE = 2048;
const CACHE_EVERY_NTH_MISS = 8;

/**
 * The values read recently by string path from a tree (a hub's replica, a member's confirmed
 * state), each with the tree's count of changes when it was read: while that holds
 * (ReplicatedTree.holds), a hot `get('a.b.c')` costs a map lookup and two tests instead of a
 * split and a walk. Values are deep-frozen, so the same one can be handed out again. Stale
 * entries are read again in place.
 */
export class ReadCache {
  readonly #reads = new Generations<CachedRead>(GENERATION_SIZE);
  #misses = 0;

  /** The entry for `path`, or undefined. */
  get(path: string): CachedRead | undefined {
    return this.#reads.get(path);
  }

  /**
   * The segments of `path`, missing from the cache (validated: throws as `parsePath` does); at
   * every CACHE_EVERY_NTH_MISS-th miss, an entry for it, to be read at its next `get`.
   */
  missed(path: string, maxDepth: number): Segments {
    const segments = splitPath(path, maxDepth);
    if (++this.#misses < CACHE_EVERY_NTH_MISS) return segments;
    this.#misses = 0;
    const frozen = Object.freeze(segments);
    this.#reads.set(path, { segments: frozen, value: undefined, changes: NOT_READ });
    return frozen;
  }
}

/** The value `cached` keeps, read again from `tree` first unless it still holds there. */
export function currentRead(cached: CachedRead, tree: ReplicatedTree): JsonValue | undefined {
  if (!tree.holds(cached.changes)) {
    const value = tree.get(cached.segments);
    cached.value = value === ABSENT ? undefined : value;
    cached.changes = tree.changes;
  }
  return cached.value;
}
