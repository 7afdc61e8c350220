import type { NodeId } from './core/clock.js';
import type { Path } from './core/path.js';
import type { JsonValue } from './core/value.js';
import type { Change, WatchListener } from './core/watchers.js';

export type { Change, JsonValue, NodeId, Path, WatchListener };

/** Where a hub listens or where a peer hub is reached (the seed's `{ host, port }`). */
export interface HostAddress {
  /** Host name or IP address. @default 'localhost' */
  host?: string;
  /** TCP port. */
  port: number;
}

/** Options of a hub (`new Collective(...)`, `Collective.start(...)`). */
export interface CollectiveOptions {
  /**
   * This hub's node id, the tie-break of its stamps. Leave it unset: a hub that restarts
   * without its state must come back under a new id, which is what the default gives.
   * @default a random 12-character id
   */
  id?: string;
  /** Deepest path accepted, in segments. @default 32 */
  maxDepth?: number;
  /** Largest value accepted, in bytes of JSON text. @default 1048576 (1 MiB) */
  maxValueBytes?: number;
}

/** Options of `Collective.start()`: the hub options plus where it is. */
export interface StartOptions extends CollectiveOptions {
  /** The address this hub listens on for peers (used by the TCP tier). */
  listen?: HostAddress;
  /** Every hub of the group; this hub's own entry is skipped. */
  peers?: readonly HostAddress[];
}

/** A snapshot of a hub's counters, for monitoring. */
export interface CollectiveStats {
  /** This hub's node id. */
  id: string;
  /** Ops applied since start, local and remote. */
  opsApplied: number;
  /** Ops this hub stamped itself (its own writes and its members'). */
  opsLocal: number;
  /** Members (workers, threads) attached now. */
  members: number;
  /** Member messages dropped as malformed; each also dropped that member's link. */
  rejectedMessages: number;
  /** Member writes refused (bad path or value); the member's promise rejects. */
  rejectedIntents: number;
  /** Live watch listeners. */
  watchers: number;
  /** Bookkeeping held besides the data: trie nodes and op records (what GC keeps bounded). */
  metadata: { nodes: number; ops: number };
}

/** Events of a hub. */
export interface CollectiveEvents {
  /** Every applied change, local or remote. */
  change: [change: Change];
  /** A member (worker, thread) attached; its number at this hub. */
  'member:up': [member: number];
  /** A member left (exited, or its link closed). */
  'member:down': [member: number];
}
