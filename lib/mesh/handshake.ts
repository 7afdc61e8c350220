import { AuthError, ProtocolError } from '../errors.js';
import type { NodeId, Stamp } from '../core/clock.js';
import { newNonce, proofFor, verifyProof } from '../wire/auth.js';
import { authFrame, helloFrame, type Hello, type PeerFrame, type WirePeerFrame } from '../wire/peer.js';

/** What a handshake learned about the other hub: its hello, less what only the handshake needs. */
export type PeerInfo = Omit<Hello, 'nonce' | 'authenticates'>;

/** Settings of one handshake. */
export interface HandshakeSettings {
  /** This hub's node id. */
  readonly id: NodeId;
  /** This hub's wall clock now (the skew check compares physical clocks). */
  readonly wall: number;
  /** The port this hub listens on, told to the peer so that it can dial back. */
  readonly listenPort?: number | undefined;
  /** The GC horizon this hub folded at, if any, told to the peer. */
  readonly horizon?: Stamp | undefined;
  /** This start of this hub (see Hello.incarnation). */
  readonly incarnation?: string | undefined;
  /** This hub's hybrid clock reading, told to the peer. */
  readonly hybrid?: Stamp | undefined;
  /** The shared secret; without one, peers are not authenticated. */
  readonly secret?: string | undefined;
  /** Peers whose wall clock differs by more than this are refused. */
  readonly maxClockSkewMs: number;
}

/**
 * One side of the handshake that opens every link between hubs, run both ways at once:
 *
 *   A -> B  hello   (id, clocks, challenge, whether it has a secret, listen port)
 *   A -> B  auth    with a secret: the proof that A knows it, over both challenges (wire/auth.ts)
 *
 * A state machine over frames already checked by the wire guards: `start()` gives the hello to
 * send; `receive()` takes each frame and gives what to send back, until it returns the peer's
 * info. Anything wrong throws the reason the link must close with: an AuthError or a
 * ProtocolError with its code. Nothing the peer sends is acted on before it completes.
 */
export class Handshake {
  readonly #settings: HandshakeSettings;
  readonly #nonce = newNonce();
  #peer: Hello | undefined;
  #proof: string | undefined;
  #done = false;

  constructor(settings: HandshakeSettings) {
    this.#settings = settings;
  }

  /** The hello to send first. */
  start(): WirePeerFrame {
    const s = this.#settings;
    return helloFrame({
      id: s.id,
      wall: s.wall,
      count: 0,
      nonce: this.#nonce,
      authenticates: s.secret !== undefined,
      listenPort: s.listenPort,
      horizon: s.horizon,
      hybrid: s.hybrid,
      incarnation: s.incarnation,
    });
  }

  /** The peer's hello, once it arrived (before it is checked): who the other side says it is. */
  get introduced(): Hello | undefined {
    return this.#peer;
  }

  /**
   * Takes the next frame. Returns `{ reply }` to send and keep waiting, or `{ peer }` when the
   * handshake is complete (with a `reply` to send first, if any). Throws the refusal.
   */
  receive(frame: PeerFrame, now: number): { reply?: WirePeerFrame; peer?: PeerInfo } {
    if (this.#done) throw new ProtocolError('the handshake is over');
    const secret = this.#settings.secret;
    if (this.#peer === undefined) {
      if (frame.t !== 'hello') throw new ProtocolError(`expected hello, got ${frame.t}`);
      const peer = frame.hello;
      this.#peer = peer;
      this.#check(peer, now);
      if (secret === undefined) return { peer: this.#finish() };
      return { reply: authFrame(proofFor(secret, this.#settings.id, peer.id, this.#nonce, peer.nonce)) };
    }
    if (frame.t !== 'auth' || secret === undefined) throw new ProtocolError(`expected auth, got ${frame.t}`);
    const peer = this.#peer;
    if (!verifyProof(secret, frame.proof, this.#settings.id, peer.id, this.#nonce, peer.nonce)) {
      throw new AuthError(`the peer ${peer.id} failed authentication: its \`secret\` differs from this hub's`);
    }
    this.#proof = frame.proof;
    return { peer: this.#finish() };
  }

  /** Whether `frame` repeats a frame of the completed handshake (a link that duplicated it). */
  isEcho(frame: PeerFrame): boolean {
    if (!this.#done) return false;
    if (frame.t === 'hello') return frame.hello.nonce === this.#peer!.nonce && frame.hello.id === this.#peer!.id;
    return frame.t === 'auth' && frame.proof === this.#proof;
  }

  #check(peer: Hello, now: number): void {
    const { id, maxClockSkewMs: maxSkew, secret } = this.#settings;
    if (peer.id === id) throw new ProtocolError('this hub connected to itself (its own address is in its peers)', 'ERR_COLLECTIVE_SELF_CONNECT');
    const who = `the peer ${peer.id}`;
    const skew = Math.abs(peer.wall - now);
    if (skew > maxSkew) {
      throw new ProtocolError(`${who}'s clock differs from this hub's by ${skew} ms, more than maxClockSkewMs (${maxSkew} ms): fix the clocks (NTP)`, 'ERR_COLLECTIVE_CLOCK_SKEW');
    }
    // This hub moves its own clock past these: they must be no further ahead than the skew allows.
    for (const [what, stamp] of [['hybrid clock', peer.hybrid], ['GC horizon', peer.horizon]] as const) {
      if (stamp !== undefined && stamp.wall - now > maxSkew) {
        throw new ProtocolError(`${who}'s ${what} is ${stamp.wall - now} ms ahead of this hub's clock, more than maxClockSkewMs (${maxSkew} ms)`, 'ERR_COLLECTIVE_CLOCK_SKEW');
      }
    }
    if (secret === undefined && peer.authenticates) {
      throw new AuthError(`${who} has a \`secret\` and this hub has none: give every hub the same secret`, 'ERR_COLLECTIVE_AUTH_MISMATCH');
    }
    if (secret !== undefined && !peer.authenticates) {
      throw new AuthError(`this hub has a \`secret\` and ${who} has none: give every hub the same secret`, 'ERR_COLLECTIVE_AUTH_MISMATCH');
    }
  }

  #finish(): PeerInfo {
    this.#done = true;
    const { nonce: _nonce, authenticates: _authenticates, ...info } = this.#peer!;
    return info;
  }
}
