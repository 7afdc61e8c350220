import type { Replica } from '../core/replica.js';
import type { Logger } from '../log.js';
import { systemClock } from '../mesh/clock.js';
import { PeerProtocol } from '../mesh/protocol.js';
import { TcpMesh } from '../mesh/tcp/mesh.js';
import type { HubSettings } from './settings.js';

/**
 * A hub's link to other hubs over TCP, from its settings: the peer protocol over its replica,
 * and the mesh of sockets that carries it (listening on `listen`, dialing `peers`). Neither is
 * started.
 */
export function tcpTier(replica: Replica, settings: HubSettings, log: Logger): { protocol: PeerProtocol; mesh: TcpMesh } {
  const protocol = new PeerProtocol(
    replica,
    {
      secret: settings.secret,
      maxClockSkewMs: settings.maxClockSkewMs,
      handshakeTimeoutMs: settings.handshakeTimeoutMs,
      heartbeatMs: settings.heartbeatMs,
      antiEntropyMs: settings.antiEntropyMs,
      // Told to peers in the handshake: the real port once listening on port 0.
      listenPort: (): number | undefined => mesh.port,
    },
    systemClock,
    log,
  );
  const mesh = new TcpMesh(
    protocol,
    {
      listen: settings.listen,
      peers: settings.peers,
      tls: settings.tls,
      connectTimeoutMs: settings.handshakeTimeoutMs,
      reconnectMinMs: settings.reconnectMinMs,
      reconnectMaxMs: settings.reconnectMaxMs,
      link: { maxFrameBytes: settings.maxFrameBytes, maxBacklogBytes: settings.maxPeerBacklog, lagGraceMs: settings.lagGraceMs },
    },
    log,
  );
  return { protocol, mesh };
}
