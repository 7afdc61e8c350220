import { EventEmitter } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { ProtocolError, type PeerError } from '../errors.js';
import type { Logger } from '../log.js';
import { CEILING_NODE, compareStamps, type NodeId, type Stamp } from '../core/clock.js';
import type { Op } from '../core/op.js';
import type { Replica } from '../core/replica.js';
import { TcpLink, type FrameMessage, type TcpLinkOptions } from '../links/tcp.js';
import type { HostAddress } from '../types.js';
import { decodeVectorMessage } from '../wire/peer.js';
import { handshake, type PeerInfo } from './handshake.js';
import { Rejections, peerFailure } from './link-failures.js';
import { GC_LAG_MS, Membership } from './membership.js';
import type { MeshOptions, MeshStats, PeerStats } from './mesh-types.js';
import { receiveStream } from './receiver.js';
import { sendLive, sendWhatIsMissing, type Outbound } from './sender.js';

export type { MeshOptions, MeshStats, PeerStats } from './mesh-types.js';

interface Dialed extends Outbound {
  readonly address: HostAddress;
  readonly label: string;
  id: NodeId | undefined;
  delay: number;
  timer: NodeJS.Timeout | undefined;
  /** Never dial again: the address is this hub itself, or a second route to a hub already linked. */
  skip: boolean;
  /** When dialing this entry started (to tell a peer being configured from one that is gone). */
  readonly since: number;
  /** Whether it came from the configured list (rather than dialed back). */
  readonly configured: boolean;
  /** Whether a first dial has ended, linked or not (the seed's constructor callback waits for all). */
  tried: boolean;
  /** Dials in a row that failed; 0 once linked. */
  failures: number;
}

/**
 * A peer that has failed this many dials in a row is reported with a process warning (when
 * nobody listens to `peer:error`): once it has been down through a few backoff rounds, it is
 * misconfigured or gone rather than restarting.
 */
const WARN_UNREACHABLE_AFTER = 10;

// Failures of a link that worked, or of one still being set up: reported, never warned about.
const TRANSIENT: ReadonlySet<string> = new Set(['ERR_COLLECTIVE_PEER_SILENT', 'ERR_COLLECTIVE_PEER_LAGGING', 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT']);

/**
 * Events of the mesh. `peer:error` carries, when it warrants a process warning if nobody
 * listens, the key to give that warning once under: the peer's address, or for a stranger
 * that dialed in, its host (each of its connections comes from another port).
 */
export interface MeshEvents {
  'peer:up': [id: string, address: string];
  'peer:down': [id: string, address: string];
  'peer:error': [error: PeerError, warnOnceAs: string | undefined];
}

function addressLabel(address: HostAddress): string {
  return `${address.host ?? 'localhost'}:${address.port}`;
}

/**
 * A hub's links to the other hubs. Every hub dials every other one and streams its own writes
 * on the connection it dialed (the seed's dual one-way connections); what it receives on the
 * connections dialed to it, it applies. On each connection, after the handshake: the receiver
 * sends its version vector, the sender answers with what it lacks (`delta` frames, then
 * `synced`), then streams live `ops`. A receiver that sees a sequence gap, or whose
 * anti-entropy timer fires, sends its vector again and gets what it lacks.
 */
export class PeerMesh extends EventEmitter<MeshEvents> {
  readonly #replica: Replica;
  readonly #log: Logger;
  readonly #options: MeshOptions;
  readonly #dialed: Dialed[];
  readonly #inbound = new Map<TcpLink, NodeId | undefined>();
  readonly #membership: Membership;
  // Whether any of this hub's own ops has left it: until then, a hub that wrote before joining
  // a group that folded past its stamps can still restamp them (Replica.restampOwn).
  #ownShared = false;
  #server: Server | undefined;
  #flushScheduled = false;
  #closed = false;
  readonly #rejections = new Rejections();
  // Resolved once every configured peer has been dialed once (linked, or refused or down).
  readonly #firstRound: Promise<void>;
  #firstRoundDone!: () => void;

  constructor(replica: Replica, log: Logger, options: MeshOptions) {
    super();
    this.#replica = replica;
    this.#log = log;
    this.#options = options;
    this.#membership = new Membership(replica.id);
    const own = options.listen === undefined ? undefined : addressLabel(options.listen);
    this.#dialed = options.peers.filter((peer) => addressLabel(peer) !== own).map((address) => this.#newDialed(address));
    this.#firstRound = new Promise((resolve) => (this.#firstRoundDone = resolve));
    this.#checkFirstRound();
  }

  /** Resolves once every configured peer has been dialed once: linked, or refused or down. */
  firstRound(): Promise<void> {
    return this.#firstRound;
  }

  #tried(peer: Dialed): void {
    if (peer.tried) return;
    peer.tried = true;
    this.#checkFirstRound();
  }

  #checkFirstRound(): void {
    if (this.#closed || this.#dialed.every((peer) => peer.tried || peer.skip)) this.#firstRoundDone();
  }

  /** The peers this hub's stream reaches now (linked and synced), by the address dialed. */
  linked(): { address: string; id: string }[] {
    return this.#dialed.filter((peer) => !peer.skip && peer.state === 'up').map((peer) => ({ address: peer.label, id: peer.id! }));
  }

  #newDialed(address: HostAddress, configured = true): Dialed {
    return {
      since: Date.now(),
      configured,
      address,
      label: addressLabel(address),
      id: undefined,
      link: undefined,
      state: 'down',
      delay: this.#options.reconnectMinMs ?? 100,
      timer: undefined,
      skip: false,
      outbox: [],
      sentSeq: 0,
      tried: false,
      failures: 0,
    };
  }

  /** The port actually listened on (useful with port 0). */
  get port(): number | undefined {
    const address = this.#server?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  /** Listens (if asked to) and starts dialing every peer; does not wait for any peer. */
  async start(): Promise<void> {
    const listen = this.#options.listen;
    if (listen !== undefined) {
      // With `tls`, peers must present a certificate the `ca` trusts, both ways.
      const server = this.#options.tls
        ? tls.createServer({ ...this.#options.tls, requestCert: true, rejectUnauthorized: true }, (socket) => this.#accept(socket))
        : createServer((socket) => this.#accept(socket));
      server.on('tlsClientError', (error, socket) => {
        this.#log('TLS client refused: %s', error.message);
        const address = `${(socket.remoteAddress ?? '?').replace(/^::ffff:/, '')}:${socket.remotePort}`;
        this.#linkFailed(error, { address, peer: undefined, connected: false, tls: true }, `${address.replace(/:\d+$/, '')} (dialing in)`);
      });
      this.#server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listen.port, listen.host ?? 'localhost', () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (error) => this.#log('listen error: %s', error.message));
      this.#log('listening on %s:%d', listen.host ?? 'localhost', this.port);
    }
    for (const peer of this.#dialed) this.#dial(peer);
  }

  #linkOptions(): TcpLinkOptions {
    const { maxFrameBytes, heartbeatMs, maxBacklogBytes, lagGraceMs } = this.#options;
    const options: TcpLinkOptions = {};
    if (maxFrameBytes !== undefined) options.maxFrameBytes = maxFrameBytes;
    if (heartbeatMs !== undefined) options.heartbeatMs = heartbeatMs;
    if (maxBacklogBytes !== undefined) options.maxBacklogBytes = maxBacklogBytes;
    if (lagGraceMs !== undefined) options.lagGraceMs = lagGraceMs;
    return options;
  }

  #handshake(link: TcpLink, established: (peer: PeerInfo) => void, introduced: (peer: PeerInfo) => void): Promise<NodeId | undefined> {
    return handshake(link, {
      established,
      introduced,
      listenPort: this.port,
      id: this.#replica.id,
      horizon: this.#replica.foldedTo,
      hybrid: this.#replica.clockCeiling(),
      // The hello carries the wall clock: the skew check compares physical clocks (a hub's
      // hybrid clock reads 0 until its first write).
      clock: () => ({ wall: Date.now(), count: 0, node: this.#replica.id }),
      secret: this.#options.secret,
      maxClockSkewMs: this.#options.maxClockSkewMs ?? 60_000,
      timeoutMs: this.#options.handshakeTimeoutMs ?? 5000,
    }).then(
      (peer) => peer.id,
      (error: Error) => {
        this.#log('handshake with %s failed: %s', link.label, error.message);
        link.close(error); // reported by #linkFailed when the link reports its close
        if (error instanceof ProtocolError && error.code === 'ERR_COLLECTIVE_SELF_CONNECT') return 'self' as NodeId;
        return undefined;
      },
    );
  }

  // While a configured peer is still on its first attempts, a peer dialing in may be that very
  // one (reached at another address, through a proxy or NAT): dialing it back directly would
  // bypass the configured route. So dial back only once every configured peer was reached, or
  // has been failing for a while (gone, not slow).
  #mayDialBack(): boolean {
    const now = Date.now();
    return this.#dialed.every((peer) => !peer.configured || peer.skip || peer.id !== undefined || now - peer.since > 10_000);
  }

  // Every link refused or failed is counted and reported once, here, with the peer's address
  // and id and the reason's code: `warn` when it deserves a process warning if nobody listens.
  #linkFailed(reason: Error | undefined, context: Parameters<typeof peerFailure>[1], warnAs: string, dialed?: Dialed): void {
    const failure = peerFailure(reason, context);
    if (failure === undefined || this.#closed) return;
    this.#rejections.count(failure.code);
    // A cut or a stall is the network's doing and heals by itself (peer:down tells it); a
    // peer down for ten dials in a row, or refused for what it is, needs someone's attention.
    const warn = failure.code === 'ERR_COLLECTIVE_PEER_UNREACHABLE' ? (dialed?.failures ?? 0) >= WARN_UNREACHABLE_AFTER : !TRANSIENT.has(failure.code);
    this.emit('peer:error', failure, warn ? warnAs : undefined);
  }

  // ---- the streams dialed to this hub: apply what the peer sends ----

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const from = `${(socket.remoteAddress ?? '?').replace(/^::ffff:/, '')}`;
    const link = new TcpLink(socket, `in:${from}:${socket.remotePort}`, this.#linkOptions());
    socket.on('error', () => undefined);
    this.#inbound.set(link, undefined);
    // Where the peer dialed from; its listening port instead, once its hello told it. A
    // stranger's connections each come from another port: warnings about them go by host.
    let address = `${from}:${socket.remotePort}`;
    let warnAs = `${from} (dialing in)`;
    let said: NodeId | undefined;
    link.once('close', (reason) => {
      this.#inbound.delete(link);
      this.#linkFailed(reason, { address, peer: said, connected: true, tls: this.#options.tls !== undefined }, warnAs);
    });
    const introduced = (peer: PeerInfo): void => {
      said = peer.id;
      if (peer.listenPort !== undefined) warnAs = address = `${from}:${peer.listenPort}`;
      link.label = `in:${from}:${socket.remotePort} (${peer.id})`;
    };
    void this.#handshake(link, (peer) => {
      this.#inbound.set(link, peer.id);
      this.#log('%s is %s: receiving its stream', link.label, peer.id);
      this.#joined(peer);
      receiveStream(link, this.#replica, this.#log, this.#antiEntropyMs, () => this.#membership.message(this.#replica));
      // A hub this one does not dial (added to the group later): dial it back, so that it
      // gets this hub's stream too. Its host is where it connected from.
      if (peer.listenPort !== undefined && !this.#dialed.some((dialed) => dialed.id === peer.id) && this.#mayDialBack()) {
        const host = (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
        const address = { host, port: peer.listenPort };
        if (!this.#dialed.some((dialed) => dialed.label === addressLabel(address))) {
          this.#log('%s dialed in and is not in the peer list: dialing it back at %s', peer.id, addressLabel(address));
          const dialed = this.#newDialed(address, false);
          this.#dialed.push(dialed);
          this.#dial(dialed);
        }
      }
    }, introduced);
  }

  // ---- the streams this hub dials: send the peer what it lacks, then live ops ----

  #dial(peer: Dialed): void {
    if (this.#closed || peer.skip) return;
    peer.state = 'connecting';
    const host = peer.address.host ?? 'localhost';
    const socket = this.#options.tls
      ? tls.connect({ ...this.#options.tls, host, port: peer.address.port, servername: /^[\d.:]+$/.test(host) ? undefined : host })
      : connect(peer.address.port, host);
    const link = new TcpLink(socket, `out:${peer.label}`, this.#linkOptions());
    peer.link = link;
    let connected = false;
    let said: NodeId | undefined;
    socket.on('error', () => undefined); // the link reports it through 'close'
    link.once('close', (reason) => {
      if (peer.link === link && peer.state !== 'up') peer.failures++;
      this.#linkFailed(reason, { address: peer.label, peer: said ?? peer.id, connected, tls: this.#options.tls !== undefined }, peer.label, peer);
      this.#dialedOnClose(peer, link);
    });
    const introduced = (info: PeerInfo): void => {
      said = info.id;
      link.label = `out:${peer.label} (${info.id})`;
    };
    socket.once(this.#options.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      void this.#handshake(link, (info) => {
        if (peer.id !== undefined && peer.id !== info.id) {
          this.#log('%s now answers as %s: %s restarted without its state, and is gone for good', peer.label, info.id, peer.id);
          this.#membership.replaced(peer.id, info.id);
        }
        // Two entries can reach one hub (a configured address and one dialed back): keep one.
        if (this.#dialed.some((other) => other !== peer && other.id === info.id && other.link !== undefined)) {
          this.#log('%s is %s, already linked under another address: dropping this entry', peer.label, info.id);
          peer.skip = true;
          link.close();
          this.#checkFirstRound();
          return;
        }
        this.#joined(info);
        peer.id = info.id;
        peer.delay = this.#options.reconnectMinMs ?? 100;
        this.#send(peer, link);
      }, introduced).then((id) => {
        if (id !== 'self') return;
        peer.skip = true;
        this.#log('%s is this hub itself: not dialing it again', peer.label);
        this.#checkFirstRound();
      });
    });
  }

  #send(peer: Dialed, link: TcpLink): void {
    link.on('message', (raw) => {
      const message = raw as FrameMessage;
      try {
        if (message.t !== 'vector' && message.t !== 'frontier') throw new TypeError(`unexpected frame ${message.t}`);
        const vector = decodeVectorMessage(message.p);
        this.#membership.heard(peer.id!, vector);
        if (message.t === 'frontier') return;
        this.#ownShared = true;
        sendWhatIsMissing(this.#replica, peer, link, vector.vector);
        if (peer.state !== 'up') {
          peer.state = 'up';
          peer.outbox = [];
          peer.failures = 0;
          this.#log('linked to %s (%s)', peer.label, peer.id);
          this.emit('peer:up', peer.id!, peer.label);
          this.#tried(peer);
        }
      } catch (error) {
        this.#log('%s: dropping the link: %s', link.label, (error as Error).message);
        link.close(new ProtocolError((error as Error).message));
      }
    });
  }

  #dialedOnClose(peer: Dialed, link: TcpLink): void {
    if (peer.link !== link) return;
    this.#tried(peer);
    peer.link = undefined;
    peer.sentSeq = 0; // a new link starts from the receiver's vector
    const wasUp = peer.state === 'up';
    peer.state = 'down';
    if (wasUp) {
      this.#log('lost the link to %s (%s)', peer.label, peer.id);
      this.emit('peer:down', peer.id!, peer.label);
    }
    if (this.#closed || peer.skip) return;
    // Exponential backoff with jitter, so that hubs restarted together do not redial in step.
    const delay = Math.round(peer.delay * (0.5 + Math.random()));
    peer.delay = Math.min(peer.delay * 2, this.#options.reconnectMaxMs ?? 5000);
    peer.timer = setTimeout(() => {
      peer.timer = undefined;
      this.#dial(peer);
    }, delay);
    peer.timer.unref();
  }

  // A hub linked: it counts for GC from now on. This hub stamps its writes after the peer's
  // clock and horizon from now on: anything the peer's group folded is older. If it has not
  // shared any of its own ops yet and the peer folded past some of them, they are restamped
  // before anything leaves.
  #joined(peer: PeerInfo): void {
    this.#membership.join(peer.id);
    // The peer's clock is at or past its horizon, and past the horizon of any hub that heard
    // from it before: writes stamped after it are safe with all of them.
    const clock = peer.hybrid ?? peer.horizon;
    if (clock === undefined) return;
    if (!this.#ownShared && peer.horizon !== undefined && this.#replica.restampOwn(peer.horizon, clock)) {
      this.#log('restamped the writes made before joining: %s folded past them', peer.id);
    }
    this.#replica.observe(clock);
  }

  get #antiEntropyMs(): number {
    return this.#options.antiEntropyMs ?? 2000;
  }

  /**
   * The GC horizon this hub may fold at now, or undefined: every peer it dials must have been
   * reached and be up, and every member of the group must have sent a recent frontier.
   */
  horizon(): Stamp | undefined {
    const ready = this.#dialed.every((peer) => peer.skip || (peer.id !== undefined && peer.state === 'up'));
    const horizon = this.#membership.horizon(this.#replica.frontier(), ready, 3 * this.#antiEntropyMs + 1000);
    if (horizon === undefined) return undefined;
    // Never fold the last GC_LAG_MS of wall time: a hub that is linking right now (its
    // handshake in flight, the group not yet told of it) stamps its writes at about now.
    const lag: Stamp = { wall: Date.now() - GC_LAG_MS, count: 0, node: CEILING_NODE };
    return compareStamps(horizon, lag) < 0 ? horizon : lag;
  }

  /** Streams an op this hub stamped to every peer it is linked to (batched per turn). */
  localOp(op: Op): void {
    if (op.stamp.node !== this.#replica.id) return;
    let any = false;
    for (const peer of this.#dialed) {
      if (peer.state !== 'up') continue;
      peer.outbox.push(op);
      any = true;
    }
    if (any) this.#ownShared = true;
    if (any && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const peer of this.#dialed) sendLive(peer);
  }

  stats(): MeshStats {
    const inboundIds = new Set([...this.#inbound.values()].filter((id) => id !== undefined));
    const peers: PeerStats[] = this.#dialed
      .filter((peer) => !peer.skip)
      .map((peer) => ({
        address: peer.label,
        id: peer.id,
        outbound: peer.state,
        inbound: peer.id !== undefined && inboundIds.has(peer.id),
        behind: this.#behind(peer.id),
        queuedBytes: peer.link?.queuedBytes ?? 0,
      }));
    for (const id of inboundIds) {
      if (!peers.some((peer) => peer.id === id)) peers.push({ address: 'inbound', id, outbound: 'down', inbound: true, behind: this.#behind(id), queuedBytes: 0 });
    }
    return {
      peers,
      rejectedFrames: this.#rejections.rejectedFrames,
      authFailures: this.#rejections.authFailures,
      handshakeTimeouts: this.#rejections.handshakeTimeouts,
      rejections: this.#rejections.byCode(),
      members: this.#membership.counts.members,
    };
  }

  #behind(id: NodeId | undefined): number | undefined {
    if (id === undefined) return undefined;
    const seen = this.#membership.seenBy(id, this.#replica.id);
    return seen === undefined ? undefined : Math.max(0, (this.#replica.vector()[this.#replica.id]?.seq ?? 0) - seen);
  }

  /** Closes every link and the listening socket. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#firstRoundDone();
    for (const peer of this.#dialed) {
      if (peer.timer !== undefined) clearTimeout(peer.timer);
      peer.link?.close();
    }
    for (const link of this.#inbound.keys()) link.close();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
