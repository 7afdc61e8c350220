import type { CollectiveErrorCode } from '../errors.js';

/** Where a hub listens or where a peer hub is reached (the seed's `{ host, port }`). */
export interface HostAddress {
  /** Host name or IP address. @default 'localhost' */
  host?: string;
  /** TCP port. */
  port: number;
}

/** The settings of a hub's peer protocol, every one given (see DEFAULTS in defaults.ts). */
export interface ProtocolSettings {
  /** The shared secret; without one, peers are not authenticated. */
  readonly secret: string | undefined;
  readonly maxClockSkewMs: number;
  readonly handshakeTimeoutMs: number;
  readonly heartbeatMs: number;
  /** How often the receiving end of a stream asks for anything it missed. */
  readonly antiEntropyMs: number;
  /** The port this hub listens on, told in its hello so that a peer can dial it back. */
  readonly listenPort: () => number | undefined;
}

/** One peer as `stats()` shows it. */
export interface PeerStats {
  /** The address dialed, or `inbound` for a peer that only dialed in. */
  address: string;
  id: string | undefined;
  /** This hub's stream to the peer: connected and synced. */
  outbound: 'down' | 'connecting' | 'up';
  /** The peer's stream to this hub is connected. */
  inbound: boolean;
  /** This hub's writes the peer has not confirmed yet (from its latest frontier): the lag, in ops. */
  behind: number | undefined;
  /** The same lag in write time: how much older the latest write it confirmed is than this hub's latest (0 when it has all). */
  lagMs: number | undefined;
  /** How far its clock is ahead of this hub's (negative: behind), estimated from its latest frontier, one-way delay included. */
  clockOffsetMs: number | undefined;
  /** Bytes written to the peer and not yet taken by it. */
  queuedBytes: number;
}

/** Counters of a hub's links to its peers. */
export interface MeshStats {
  peers: PeerStats[];
  /** Connections dropped for a bad frame or a protocol violation. */
  rejectedFrames: number;
  /** Connections refused for failing authentication. */
  authFailures: number;
  /** Connections dropped for saying nothing within the handshake timeout. */
  handshakeTimeouts: number;
  /** Every link refused or dropped with a reason, by the reason's code. */
  rejections: Partial<Record<CollectiveErrorCode, number>>;
  /** The other hubs this one counts as members of its group (for GC). */
  members: number;
}
