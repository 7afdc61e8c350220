import { ProtocolError, TimeoutError } from '../errors.js';
import type { NodeId } from '../core/clock.js';
import type { Link } from '../links/link.js';
import { decodePeerFrame, PING_FRAME, snapshotFrame, type PeerFrame, type WirePeerFrame } from '../wire/peer.js';
import { jsonSlices } from '../wire/json-slices.js';
import type { ReplicaSnapshot } from '../core/replica-types.js';
import type { JsonValue } from '../core/value.js';
import type { Logger } from '../log.js';
import type { Replica } from '../core/replica.js';
import type { MeshClock } from './clock.js';
import { Handshake, type PeerInfo } from './handshake.js';
import type { ProtocolSettings } from './types.js';

/** Which way a link's stream flows: `out`, this hub dialed it and streams its writes on it; `in`, the peer does. */
export type Direction = 'in' | 'out';

/** What the transport knows of a link it hands the protocol. */
export interface SessionContext {
  /** The peer's address, `host:port`, for reports (the transport may refine it once the peer's hello came). */
  address: string;
  /** The key a warning about this peer is given once under (its address, or a stranger's host). */
  warnAs: string;
  /**
   * Where the peer listens, when known: for a link this hub dialed, the address it dialed; for
   * one the peer dialed, where it says it listens (the transport sets it once the hello came).
   */
  place?: string | undefined;
  /** Called when the peer's hello arrives (before it is checked), with the port it says it listens on. */
  readonly introduced?: ((listenPort: number | undefined) => void) | undefined;
}

/** What a session does with the frames of its stream, once the handshake is done. */
export interface StreamRole {
  /** A frame of the stream (already checked by the wire guards). Throws to refuse it. */
  receive(frame: PeerFrame): void;
  /** The session closed: stop timers. */
  stop(): void;
}

/** What a session needs of the protocol it runs for (mesh/protocol.ts). */
export interface SessionHost {
  readonly replica: Replica;
  readonly clock: MeshClock;
  readonly settings: ProtocolSettings;
  readonly log: Logger;
  /** This start of this hub (see Hello.incarnation). */
  readonly incarnation: string;
  /** The handshake is done: the stream role to run, or undefined when the protocol closed the session. */
  established(session: PeerSession): StreamRole | undefined;
  /** The link closed (`reason` when it failed). */
  closed(session: PeerSession, reason: Error | undefined): void;
}

/**
 * One link between two hubs, from this hub's side: the handshake, then the stream role the
 * protocol gives it (mesh/sender.ts or mesh/receiver.ts), and all along the heartbeat (an idle
 * link pings; a peer silent for three heartbeats is dropped: a cut link stalls TCP without an
 * error). Every frame goes through the wire guards first; a frame that fails them, or that
 * the role refuses, closes the link with the reason's code before any of it is applied.
 */
export class PeerSession {
  readonly direction: Direction;
  readonly link: Link<WirePeerFrame>;
  readonly context: SessionContext;
  /** The peer's hello, once the handshake is done. */
  peer: PeerInfo | undefined;
  #state: 'handshake' | 'open' | 'closed' = 'handshake';
  #role: StreamRole | undefined;
  readonly #host: SessionHost;
  readonly #handshake: Handshake;
  #lastReceived: number;
  // The link's count of bytes received at the last heartbeat, where it keeps one.
  #bytesAtBeat: number | undefined;
  #lastSent: number;
  readonly #stopTimers: (() => void)[] = [];

  constructor(host: SessionHost, link: Link<WirePeerFrame>, direction: Direction, context: SessionContext) {
    this.#host = host;
    this.link = link;
    this.direction = direction;
    this.context = context;
    const { clock, settings, replica } = host;
    this.#lastReceived = this.#lastSent = clock.now();
    this.#handshake = new Handshake({
      id: replica.id,
      wall: clock.now(),
      listenPort: settings.listenPort(),
      horizon: replica.foldedTo,
      hybrid: replica.clockCeiling(),
      incarnation: host.incarnation,
      secret: settings.secret,
      maxClockSkewMs: settings.maxClockSkewMs,
    });
    link.on('message', (raw) => this.#linkOnMessage(raw));
    link.once('close', (reason) => this.#linkOnClose(reason));
    const heartbeat = settings.heartbeatMs;
    this.#stopTimers.push(clock.every(Math.max(10, Math.floor(heartbeat / 2)), () => this.#beat(heartbeat)));
    this.#stopTimers.push(
      clock.after(settings.handshakeTimeoutMs, () => {
        if (this.#state === 'handshake') this.close(new TimeoutError(`no handshake within ${settings.handshakeTimeoutMs} ms`, 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT'));
      }),
    );
    if (!link.closed) this.send(this.#handshake.start());
  }

  /** The peer's node id: from its hello as soon as it arrived, before the handshake completes. */
  get said(): NodeId | undefined {
    return this.peer?.id ?? this.#handshake.introduced?.id;
  }

  /** Whether the handshake is done and the link still open. */
  get open(): boolean {
    return this.#state === 'open';
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Sends a frame; false when the link is closed or could not carry it. */
  send(frame: WirePeerFrame): boolean {
    this.#lastSent = this.#host.clock.now();
    return this.link.send(frame);
  }

  /**
   * Sends the whole state: encoded a slice at a time where the link can send a payload in
   * parts (TCP), so that a large store's snapshot holds no turn for long. The snapshot is made
   * of fresh objects and frozen values: what this hub applies meanwhile changes nothing of it,
   * and follows it on the link.
   */
  sendSnapshot(snapshot: ReplicaSnapshot): boolean {
    const frame = snapshotFrame(snapshot);
    if (this.link.sendPayloadInParts === undefined) return this.send(frame);
    this.#lastSent = this.#host.clock.now();
    return this.link.sendPayloadInParts(frame.t, jsonSlices(frame.p as unknown as JsonValue));
  }

  /** Closes the link (the protocol hears of it through the link's close). */
  close(reason?: Error): void {
    this.link.close(reason);
  }

  #beat(heartbeatMs: number): void {
    const now = this.#host.clock.now();
    // Bytes of a message still arriving (a large snapshot takes seconds) are a peer alive.
    const bytes = this.link.bytesReceived;
    if (bytes !== undefined && bytes !== this.#bytesAtBeat) {
      this.#bytesAtBeat = bytes;
      this.#lastReceived = now;
    }
    const silent = now - this.#lastReceived;
    if (silent > 3 * heartbeatMs) {
      this.#host.log('%s: dropping the link: nothing received for %d ms', this.link.label, silent);
      this.close(new ProtocolError(`nothing received for ${silent} ms (3 heartbeats)`, 'ERR_COLLECTIVE_PEER_SILENT'));
      return;
    }
    if (now - this.#lastSent >= heartbeatMs) this.send(PING_FRAME);
  }

  #linkOnMessage(raw: unknown): void {
    if (this.#state === 'closed') return;
    this.#lastReceived = this.#host.clock.now();
    try {
      const frame = decodePeerFrame(raw, this.#host.replica.limits);
      if (frame.t === 'ping') return;
      if (this.#state === 'handshake') this.#handshaking(frame);
      else if (!this.#handshake.isEcho(frame)) this.#role?.receive(frame);
    } catch (error) {
      const reason = error instanceof ProtocolError || error instanceof TimeoutError ? error : new ProtocolError((error as Error).message);
      this.#host.log('%s: dropping the link: %s', this.link.label, reason.message);
      this.close(reason);
    }
  }

  #handshaking(frame: PeerFrame): void {
    const { reply, peer } = this.#handshake.receive(frame, this.#host.clock.now());
    const said = this.#handshake.introduced;
    if (said !== undefined && !this.link.label.endsWith(`(${said.id})`)) {
      // Debug lines of this link name the peer from now on.
      this.link.label = `${this.link.label} (${said.id})`;
      this.context.introduced?.(said.listenPort);
    }
    if (reply !== undefined) this.send(reply);
    if (peer === undefined) return;
    this.peer = peer;
    this.#state = 'open';
    const role = this.#host.established(this);
    if (this.#state === 'open') this.#role = role;
  }

  #linkOnClose(reason: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const stop of this.#stopTimers) stop();
    this.#role?.stop();
    this.#host.closed(this, reason);
  }
}
