import { describe, inputTypeError } from '../errors.js';
import type { NodeId, Stamp, WallClock } from './clock.js';
import type { NodeSnapshot } from './snapshot-codec.js';
import type { VersionVector } from './horizon.js';
import type { Op } from './op.js';
import type { ExpiryClock } from './read-time.js';
import { formatPath, type Segments } from './path.js';
import type { WireSequences } from './sequences.js';

// The shapes a replica takes and gives (core/replica.ts), and its small helpers.

/** Options of a replica. */
export interface ReplicaOptions {
  /** This replica's node id: the origin of its writes. Default: a random id. */
  id?: NodeId;
  /** Wall clock for stamps. @default Date.now */
  now?: WallClock;
  /**
   * The clock reads compare expiries with (ms), called only where one is armed; a hub passes
   * one whose reading holds for a synchronous run of code (`turnClock`). @default now
   */
  expiryClock?: ExpiryClock;
  /** Deepest path accepted. @default 32 */
  maxDepth?: number;
  /** Largest value accepted, in bytes of JSON. @default 1048576 (1 MiB) */
  maxValueBytes?: number;
  /**
   * Called after every op applied, local or remote (not for duplicates). `restated` says how
   * the state changed for a follower applying changes in arrival order (see Restated in
   * core/tree.ts): `undefined` when the op says it, else the path whose whole value changed,
   * or `null` when nothing did.
   */
  onApplied?: (op: Op, restated?: Segments | null) => void;
  /**
   * Called when `adoptSnapshot` replaced the state (a follower needs the whole of it again).
   */
  onReplaced?: () => void;
  /**
   * Called when this replica restamped its own ops (`restampOwn`), with their new versions
   * (same origin and seq, new stamps): whoever keeps a copy of them must take these instead.
   */
  onRestamped?: (ops: readonly Op[]) => void;
}

/** What `apply` did with an op. */
export type ApplyResult = 'applied' | 'duplicate' | 'gap';

/** What another replica lacks: ops (with the sender's vector) or, past GC, a full snapshot. */
export type Delta =
  | { readonly kind: 'ops'; readonly ops: readonly Op[]; readonly vector: VersionVector; readonly clock: Stamp }
  | { readonly kind: 'snapshot'; readonly snapshot: ReplicaSnapshot };

/**
 * A replica's whole state as plain JSON. `clock` is the sender's clock reading: a replica
 * built from it stamps only after that, which keeps every GC horizon that counted the sender
 * below the newcomer's writes too.
 */
export interface ReplicaSnapshot extends WireSequences {
  v: 1;
  clock: [number, number, string];
  latest?: [number, number, string];
  tree: NodeSnapshot;
}

/** A fresh random node id. */
export function randomNodeId(): NodeId {
  return globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 12) as NodeId;
}

/** Checks an incr amount: a finite number, or a TypeError naming the path. */
export function checkAmount(by: unknown, path: Segments): number {
  if (typeof by !== 'number' || !Number.isFinite(by)) {
    throw inputTypeError(
      'ERR_COLLECTIVE_INVALID_VALUE',
      `Expected the amount for \`${formatPath(path)}\` to be a finite number, got ${describe(by)}`,
    );
  }
  return by;
}

