import type { TreeMetadata } from '../core/fold.js';
import type { LazyList } from '../core/lazy-list.js';
import type { SnapshotReadings } from '../core/live-readings.js';
import type { JsonValue } from '../core/value.js';
import type { MemberIdentity, StreamItem, WireReply } from '../wire/member.js';

// The types a member (member/member.ts) is configured with, reports and emits.

/** Options of a member. */
export interface MemberOptions {
  /**
   * How long `ready()` waits for the hub to answer before it rejects: from the start, then
   * again for as long as the snapshot keeps arriving (where the link counts what it received).
   * @default 5000
   */
  readyTimeout?: number;
  /** Deepest path accepted. @default 32 */
  maxDepth?: number;
  /** Largest value accepted, in bytes of JSON. @default 1048576 (1 MiB) */
  maxValueBytes?: number;
  /** Who this member is, told to its hub (stats, dashboard). @default { pid: process.pid } */
  self?: MemberIdentity;
}

/** A member's counters. */
export interface MemberStats {
  /** This member's number at its hub (0 until ready). */
  member: number;
  /** The hub's node id ('' until ready). */
  hub: string;
  ready: boolean;
  /** Writes sent and not yet acknowledged by the hub. */
  pending: number;
  /** Position in the hub's stream. */
  position: number;
  /** Nodes and op records this member's tree holds beyond its data (expired subtrees go once the hub's horizon passes them). */
  metadata: TreeMetadata;
}

/**
 * What a member tells a relay of its own members (the threads of a cluster worker): each stream
 * message it applied, with how far the hub acknowledged this member's intents and the hub's
 * replies to them; and each snapshot it took, with the intents that snapshot acknowledged.
 */
export interface MemberEvents {
  ready: [];
  close: [];
  stream: [items: readonly StreamItem[], acked: number | undefined, replies: readonly WireReply[], horizon: number | undefined];
  snapshot: [acked: number];
}

/** The confirmed state of a member (without its pending writes), for its own members' snapshots. */
export interface ConfirmedState {
  hub: string;
  at: number;
  /**
   * What no expiry fired for good yet: `armed` says what is due when ([path, time]). Taken
   * `overTurns`, for JSON text only (see MemberServer's Upstream.snapshot).
   */
  tree: JsonValue;
  armed: [string[], number][] | LazyList;
  /** The readings `tree` and `armed` took (overTurns): ended once their text is written. */
  readings: SnapshotReadings | undefined;
  limits: { maxDepth: number; maxValueBytes: number };
}
