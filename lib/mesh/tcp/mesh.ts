import { createServer, connect, type Server, type Socket } from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from '../../log.js';
import type { NodeId } from '../../core/clock.js';
import { TcpLink, type TcpLinkOptions } from '../../links/tcp.js';
import type { PeerProtocol } from '../protocol.js';
import type { PeerSession, SessionContext } from '../session.js';
import type { HostAddress, PeerStats } from '../types.js';

/** Settings of the TCP transport. */
export interface TcpMeshSettings {
  readonly listen: HostAddress | undefined;
  readonly peers: readonly HostAddress[];
  /** With these, every link is TLS, both ways: key, cert, ca. */
  readonly tls: tls.SecureContextOptions | undefined;
  /** A dial not connected by then is dropped and redialed. */
  readonly connectTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly link: TcpLinkOptions;
}

/** A peer this hub dials: its address, its redial schedule, and the session on its current link. */
interface Dialed {
  readonly address: HostAddress;
  readonly label: string;
  /** The id this address answered with last. */
  id: NodeId | undefined;
  state: 'down' | 'connecting' | 'up';
  session: PeerSession | undefined;
  link: TcpLink | undefined;
  delay: number;
  cancelRedial: (() => void) | undefined;
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
 * A peer down for this many dials in a row is worth a process warning (when nobody listens to
 * `peer:error`): through a few backoff rounds, it is misconfigured or gone, not restarting.
 */
const WARN_UNREACHABLE_AFTER = 10;

function addressLabel(address: HostAddress): string {
  return `${address.host ?? 'localhost'}:${address.port}`;
}

/**
 * The TCP transport of the peer protocol: listens for peers, dials every configured one
 * (backoff with jitter, a connect timeout), dials back a hub that dialed in and is not in the
 * list, wraps every link in TLS when asked, and hands the protocol each link with its
 * direction. What the protocol says of a link (mesh/protocol.ts events) decides the rest: a
 * link to itself or a second route to a linked peer is never redialed (told by the close
 * reason's code), any other loss is redialed.
 */
export class TcpMesh {
  readonly #protocol: PeerProtocol;
  readonly #settings: TcpMeshSettings;
  readonly #log: Logger;
  readonly #dialed: Dialed[];
  readonly #bySession = new Map<PeerSession, Dialed>();
  #server: Server | undefined;
  #closed = false;
  readonly #firstRound: Promise<void>;
  #firstRoundDone!: () => void;

  constructor(protocol: PeerProtocol, settings: TcpMeshSettings, log: Logger) {
    this.#protocol = protocol;
    this.#settings = settings;
    this.#log = log;
    const own = settings.listen === undefined ? undefined : addressLabel(settings.listen);
    this.#dialed = settings.peers.filter((peer) => addressLabel(peer) !== own).map((address) => this.#newDialed(address, true));
    this.#firstRound = new Promise((resolve) => (this.#firstRoundDone = resolve));
    this.#checkFirstRound();
    protocol.on('session:open', (session) => this.#sessionOnOpen(session));
    protocol.on('session:close', (session, reason) => this.#sessionOnClose(session, reason));
    protocol.on('peer:up', () => this.#peersUp());
  }

  #newDialed(address: HostAddress, configured: boolean): Dialed {
    return {
      address,
      label: addressLabel(address),
      id: undefined,
      state: 'down',
      session: undefined,
      link: undefined,
      delay: this.#settings.reconnectMinMs,
      cancelRedial: undefined,
      skip: false,
      since: this.#protocol.clock.now(),
      configured,
      tried: false,
      failures: 0,
    };
  }

  /** The port listened on (the real one when asked for port 0). */
  get port(): number | undefined {
    const address = this.#server?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  /** Listens (if asked to) and starts dialing every peer; does not wait for any peer. */
  async start(): Promise<void> {
    const listen = this.#settings.listen;
    if (listen !== undefined) {
      // With `tls`, peers must present a certificate the `ca` trusts, both ways.
      const server = this.#settings.tls
        ? tls.createServer({ ...this.#settings.tls, requestCert: true, rejectUnauthorized: true }, (socket) => this.#accept(socket))
        : createServer((socket) => this.#accept(socket));
      server.on('tlsClientError', (error, socket) => {
        const from = `${(socket.remoteAddress ?? '?').replace(/^::ffff:/, '')}`;
        this.#log('TLS client %s refused: %s', from, error.message);
        this.#protocol.failed(error, { address: `${from}:${socket.remotePort}`, peer: undefined, connected: false, tls: true }, `${from} (dialing in)`);
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

  /** Resolves once every configured peer has been dialed once: linked, or refused or down. */
  firstRound(): Promise<void> {
    return this.#firstRound;
  }

  #checkFirstRound(): void {
    if (this.#closed || this.#dialed.every((peer) => peer.tried || peer.skip)) this.#firstRoundDone();
  }

  #tried(peer: Dialed): void {
    if (peer.tried) return;
    peer.tried = true;
    this.#checkFirstRound();
  }

  // ---- links dialed to this hub: the peer streams to it ----

  #accept(socket: Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined); // the link reports it through 'close'
    const from = (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
    const link = new TcpLink(socket, `in:${from}:${socket.remotePort}`, this.#settings.link);
    // Named by where it dialed from, then by its listening port once its hello told it; a
    // stranger's connections each come from another port: warnings about it go by host.
    const context: SessionContext = {
      address: `${from}:${socket.remotePort}`,
      warnAs: `${from} (dialing in)`,
      introduced: (listenPort: number | undefined) => {
        if (listenPort === undefined) return;
        context.address = context.warnAs = context.place = `${from}:${listenPort}`;
      },
    };
    this.#protocol.open(link, 'in', context);
  }

  // ---- links this hub dials: it streams its writes on them ----

  #dial(peer: Dialed): void {
    if (this.#closed || peer.skip) return;
    peer.state = 'connecting';
    const host = peer.address.host ?? 'localhost';
    const tlsOptions = this.#settings.tls;
    const socket = tlsOptions
      ? tls.connect({ ...tlsOptions, host, port: peer.address.port, servername: /^[\d.:]+$/.test(host) ? undefined : host })
      : connect(peer.address.port, host);
    socket.on('error', () => undefined); // the link reports it through 'close'
    const link = new TcpLink(socket, `out:${peer.label}`, this.#settings.link);
    peer.link = link;
    let connected = false;
    const cancelTimeout = this.#protocol.clock.after(this.#settings.connectTimeoutMs, () => {
      if (!connected) link.close(Object.assign(new Error(`not connected within ${this.#settings.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
    link.once('close', (reason) => {
      cancelTimeout();
      if (connected) return; // the session reports it
      peer.failures++;
      const warn = peer.failures >= WARN_UNREACHABLE_AFTER || this.#settings.tls !== undefined ? peer.label : undefined;
      this.#protocol.failed(reason, { address: peer.label, peer: peer.id, connected: false, tls: this.#settings.tls !== undefined }, warn);
      this.#lost(peer, link);
    });
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => {
      connected = true;
      cancelTimeout();
      const session = this.#protocol.open(link, 'out', { address: peer.label, warnAs: peer.label, place: peer.label });
      if (session.closed) return;
      peer.session = session;
      this.#bySession.set(session, peer);
    });
  }

  #sessionOnOpen(session: PeerSession): void {
    if (session.direction === 'in') {
      this.#dialBack(session);
      return;
    }
    const peer = this.#bySession.get(session);
    if (peer === undefined) return;
    peer.id = session.peer!.id;
    peer.delay = this.#settings.reconnectMinMs;
  }

  #peersUp(): void {
    for (const peer of this.#dialed) {
      if (peer.session === undefined || !this.#protocol.isUp(peer.session) || peer.state === 'up') continue;
      peer.state = 'up';
      peer.failures = 0;
      this.#tried(peer);
    }
  }

  #sessionOnClose(session: PeerSession, reason: Error | undefined): void {
    const peer = this.#bySession.get(session);
    if (peer === undefined) return;
    this.#bySession.delete(session);
    if (peer.state !== 'up') peer.failures++;
    const code = (reason as { code?: unknown } | undefined)?.code;
    if (code === 'ERR_COLLECTIVE_SELF_CONNECT' || code === 'ERR_COLLECTIVE_DUPLICATE_ROUTE') {
      peer.skip = true;
      this.#log('%s: not dialing it again (%s)', peer.label, code === 'ERR_COLLECTIVE_SELF_CONNECT' ? 'this hub itself' : 'a second route to a linked hub');
    }
    this.#lost(peer, session.link as TcpLink);
  }

  // The link of a dialed peer is gone: redial, with exponential backoff and jitter, so that
  // hubs restarted together do not redial in step.
  #lost(peer: Dialed, link: TcpLink): void {
    if (peer.link !== link) return;
    peer.link = undefined;
    peer.session = undefined;
    peer.state = 'down';
    this.#tried(peer);
    this.#checkFirstRound();
    if (this.#closed || peer.skip) return;
    const delay = Math.round(peer.delay * (0.5 + Math.random()));
    peer.delay = Math.min(peer.delay * 2, this.#settings.reconnectMaxMs);
    peer.cancelRedial = this.#protocol.clock.after(delay, () => {
      peer.cancelRedial = undefined;
      this.#dial(peer);
    });
  }

  // A hub that dialed in and that this one does not dial (added to the group later): dial it
  // back at its listening port, on the host it connected from, so that it gets this hub's
  // stream too.
  #dialBack(session: PeerSession): void {
    const peer = session.peer!;
    if (peer.listenPort === undefined || this.#dialed.some((dialed) => dialed.id === peer.id) || !this.#mayDialBack()) return;
    const host = session.context.address.replace(/:\d+$/, '');
    const address = { host, port: peer.listenPort };
    if (this.#dialed.some((dialed) => dialed.label === addressLabel(address))) return;
    this.#log('%s dialed in and is not in the peer list: dialing it back at %s', peer.id, addressLabel(address));
    const dialed = this.#newDialed(address, false);
    dialed.tried = true; // not one the first round waits for
    this.#dialed.push(dialed);
    this.#dial(dialed);
  }

  // While a configured peer is still on its first attempts, a peer dialing in may be that very
  // one (reached at another address, through a proxy or NAT): dialing it back directly would
  // bypass the configured route. So dial back only once every configured peer was reached, or
  // has been failing for a while (gone, not slow).
  #mayDialBack(): boolean {
    const now = this.#protocol.clock.now();
    return this.#dialed.every((peer) => !peer.configured || peer.skip || peer.id !== undefined || now - peer.since > 10_000);
  }

  /** Whether every peer this hub dials has been reached and its stream is up: GC may fold. */
  ready(): boolean {
    return this.#dialed.every((peer) => peer.skip || (peer.id !== undefined && peer.state === 'up'));
  }

  /** The peers this hub's stream reaches now, by the address dialed. */
  linked(): { address: string; id: string }[] {
    return this.#dialed.filter((peer) => !peer.skip && peer.state === 'up').map((peer) => ({ address: peer.label, id: peer.id! }));
  }

  /** Every peer as `stats()` shows it: those dialed, then those that only dialed in. */
  peers(): PeerStats[] {
    const inbound = new Set<string>();
    for (const session of this.#protocol.sessions()) if (session.direction === 'in' && session.open) inbound.add(session.peer!.id);
    const lagOf = (id: string | undefined): Pick<PeerStats, 'behind' | 'lagMs' | 'clockOffsetMs'> => {
      const lag = id === undefined ? undefined : this.#protocol.lag(id);
      return { behind: lag?.behind, lagMs: lag?.lagMs, clockOffsetMs: lag?.clockOffsetMs };
    };
    const peers: PeerStats[] = this.#dialed
      .filter((peer) => !peer.skip)
      .map((peer) => ({
        address: peer.label,
        id: peer.id,
        outbound: peer.state,
        inbound: peer.id !== undefined && inbound.has(peer.id),
        ...lagOf(peer.id),
        queuedBytes: peer.link?.queuedBytes ?? 0,
      }));
    for (const id of inbound) {
      if (!peers.some((peer) => peer.id === id)) peers.push({ address: 'inbound', id, outbound: 'down', inbound: true, ...lagOf(id), queuedBytes: 0 });
    }
    return peers;
  }

  /** Stops dialing and listening, and closes every link. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#firstRoundDone();
    for (const peer of this.#dialed) {
      peer.cancelRedial?.();
      peer.link?.close();
    }
    this.#protocol.close();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
