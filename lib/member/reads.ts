import { ABSENT } from '../core/node.js';
import { parsePath, type Path, type Segments } from '../core/path.js';
import { ReadCache, currentRead } from '../core/read-cache.js';
import type { JsonValue } from '../core/value.js';
import type { ConfirmedTree } from './confirmed.js';
import { overlay, type ReplayedWrite } from './overlay.js';
import type { PendingWrites } from './pending.js';

/**
 * A member's reads: the confirmed state with the member's pending writes replayed over it, and
 * the values of string paths read often kept while they stand (ReadCache).
 */
export class MemberReads {
  readonly #confirmed: ConfirmedTree;
  readonly #pending: PendingWrites;
  #cache = new ReadCache();

  constructor(confirmed: ConfirmedTree, pending: PendingWrites) {
    this.#confirmed = confirmed;
    this.#pending = pending;
  }

  /** The value at `path` (deep-frozen), or undefined; throws for a bad path as `parsePath` does. */
  get(path: Path, maxDepth: number): JsonValue | undefined {
    if (typeof path !== 'string') return this.#read(parsePath(path, maxDepth));
    const cached = this.#cache.get(path);
    if (cached === undefined) return this.#read(this.#cache.missed(path, maxDepth));
    // A value read by this path holds while the confirmed state did not change, and no pending
    // write of this member's lies over it.
    if (this.#pending.replaysFor(cached.segments[0]!)) return this.#read(cached.segments);
    return currentRead(cached, this.#confirmed.tree);
  }

  /**
   * A snapshot was adopted: what was read before is read again anyway (a new tree), and the
   * hub's limits it brings may refuse paths kept under the old ones. Kept reads start over.
   */
  forget(): void {
    this.#cache = new ReadCache();
  }

  /** The whole tree. */
  all(): JsonValue | undefined {
    const all = this.#pending.allReplayed();
    if (all === undefined) return this.#confirmed.getAll();
    return overlay((p) => this.#confirmed.slot(p), [], all) as JsonValue;
  }

  #read(segments: Segments): JsonValue | undefined {
    const pending = this.#pending.replayedFor(segments[0]!);
    return pending === undefined ? this.#confirmed.get(segments) : this.#overlaid(segments, pending);
  }

  // Apart from `#read`: a closure there would make V8 allocate a context on every read
  // (measured: a hot read ~15% slower).
  #overlaid(segments: Segments, pending: Iterable<ReplayedWrite>): JsonValue | undefined {
    const value = overlay((p) => this.#confirmed.slot(p), segments, pending);
    return value === ABSENT ? undefined : value;
  }
}
