import type { CollectiveErrorCode } from '../errors.js';
import type * as tls from 'node:tls';
import type { TcpLinkOptions } from '../links/tcp.js';
import type { HostAddress } from '../types.js';

/** Settings of a hub's links to its peers. */
export interface MeshOptions extends TcpLinkOptions {
  listen?: HostAddress | undefined;
  peers: readonly HostAddress[];
  secret?: string | undefined;
  maxClockSkewMs?: number | undefined;
  handshakeTimeoutMs?: number | undefined;
  /** How often each side re-sends its vector, so that ops missed on a cut link get repaired. */
  antiEntropyMs?: number | undefined;
  /** With these, every link is TLS: used for the server and for dialing (key, cert, ca...). */
  tls?: tls.SecureContextOptions | undefined;
  /** Bounds of the redial backoff. */
  reconnectMinMs?: number | undefined;
  reconnectMaxMs?: number | undefined;
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
  /** Bytes written to the peer and not yet taken by it. */
  queuedBytes: number;
}

/** Counters of rejected connections and frames. */
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
