import type { Replica } from '../core/replica.js';
import type { Logger } from '../log.js';
import { systemClock } from '../mesh/clock.js';
import { PeerProtocol } from '../mesh/protocol.js';
import { TcpMesh } from '../mesh/tcp/mesh.js';
import { decodeGroup, encodeGroup } from '../wire/peer.js';
import type { Persistence } from './persist/persistence.js';
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

/**
 * A hub that keeps its state on disk keeps what it knows of its group there too: read back at
 * start (after the ids its state had before, which it retires), written each time it changes.
 * What the disk holds is untrusted: a malformed group is logged and left out (the hub then
 * learns its group from its peers alone, as a new one does).
 */
export function keepGroup(protocol: PeerProtocol, persistence: Persistence, log: Logger): void {
  protocol.predecessors(persistence.predecessors);
  const kept = persistence.group;
  if (kept !== undefined) {
    try {
      protocol.restoreGroup(decodeGroup(kept));
    } catch (error) {
      log('the group kept on disk is malformed (%s): left out', (error as Error).message);
    }
  }
  protocol.on('group', (group) => persistence.recordGroup(encodeGroup(group)));
}
