import { AuthError, ProtocolError, TimeoutError } from '../errors.js';
import type { NodeId, Stamp } from '../core/clock.js';
import type { FrameMessage, TcpLink } from '../links/tcp.js';
import { newNonce, proofFor, verifyProof } from '../wire/auth.js';
import { decodeAuth, decodeHello, encodeHello, type Hello } from '../wire/peer.js';

/** Settings of a hub's handshakes. */
export interface HandshakeOptions {
  /** This hub's node id. */
  id: NodeId;
  /** This hub's clock reading, sent in the hello. */
  clock: () => Stamp;
  /** The port this hub listens on, told to the peer so that it can dial back. */
  listenPort?: number | undefined;
  /** The GC horizon this hub folded at, if any, told to the peer. */
  horizon?: Stamp | undefined;
  /** This hub's hybrid clock reading, told to the peer. */
  hybrid?: Stamp | undefined;
  /** The shared secret; without one, peers are not authenticated. */
  secret?: string | undefined;
  /** Peers whose wall clock differs by more than this are refused. @default 60000 */
  maxClockSkewMs?: number;
  /** A connection that has not finished its handshake by then is dropped. @default 5000 */
  timeoutMs?: number;
  /**
   * Called synchronously when the handshake succeeds, before the promise resolves: attach the
   * session's listeners here. Frames right behind the last handshake frame (in the same TCP
   * chunk) are delivered at once, and would find no listener a promise tick later.
   */
  established?: (peer: PeerInfo) => void;
  /**
   * Called as soon as the peer's hello is decoded, before anything in it is checked: who the
   * other side says it is, to name it if the handshake then fails.
   */
  introduced?: (peer: PeerInfo) => void;
}

/** What a handshake learned about the other hub: its hello, less what only the handshake needs. */
export type PeerInfo = Omit<Hello, 'nonce' | 'authenticates'>;

/**
 * Runs the handshake on a fresh link, both ways at once: hellos, the clock check, and with a
 * secret the mutual challenge-response (wire/auth.ts). Resolves with the peer, or rejects
 * with an AuthError, ProtocolError or TimeoutError saying why; the caller closes the link and
 * counts the failure. Nothing the peer sends is acted on before this resolves.
 */
export function handshake(link: TcpLink, options: HandshakeOptions): Promise<PeerInfo> {
  const maxSkew = options.maxClockSkewMs ?? 60_000;
  const nonce = newNonce();
  const clock = options.clock();
  const secret = options.secret;
  return new Promise<PeerInfo>((resolve, reject) => {
    let peer: Hello | undefined;
    let done = false;
    const finish = (error: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      link.off('message', onMessage);
      link.off('close', onClose);
      if (error !== undefined) return reject(error);
      const { nonce: _nonce, authenticates: _authenticates, ...info } = peer!;
      options.established?.(info);
      resolve(info);
    };
    const onClose = (reason: Error | undefined): void =>
      finish(reason ?? new ProtocolError(`${peer === undefined ? 'the other side' : `the peer ${peer.id}`} closed the connection during the handshake`));
    const onMessage = (raw: unknown): void => {
      const message = raw as FrameMessage;
      try {
        if (peer === undefined) {
          if (message.t !== 'hello') throw new ProtocolError(`expected hello, got ${message.t}`);
          peer = decodeHello(message.p);
          options.introduced?.(peer);
          if (peer.id === options.id) throw new ProtocolError('this hub connected to itself (its own address is in its peers)', 'ERR_COLLECTIVE_SELF_CONNECT');
          const who = `the peer ${peer.id}`;
          const now = Date.now();
          const skew = Math.abs(peer.wall - now);
          if (skew > maxSkew) {
            throw new ProtocolError(`${who}'s clock differs from this hub's by ${skew} ms, more than maxClockSkewMs (${maxSkew} ms): fix the clocks (NTP)`, 'ERR_COLLECTIVE_CLOCK_SKEW');
          }
          // This hub moves its own clock past these: they must be no further ahead than the skew allows.
          for (const [what, stamp] of [['hybrid clock', peer.hybrid], ['GC horizon', peer.horizon]] as const) {
            if (stamp !== undefined && stamp.wall - now > maxSkew) {
              throw new ProtocolError(
                `${who}'s ${what} is ${stamp.wall - now} ms ahead of this hub's clock, more than maxClockSkewMs (${maxSkew} ms)`,
                'ERR_COLLECTIVE_CLOCK_SKEW',
              );
            }
          }
          if (secret === undefined && peer.authenticates) {
            throw new AuthError(`${who} has a \`secret\` and this hub has none: give every hub the same secret`, 'ERR_COLLECTIVE_AUTH_MISMATCH');
          }
          if (secret !== undefined && !peer.authenticates) {
            throw new AuthError(`this hub has a \`secret\` and ${who} has none: give every hub the same secret`, 'ERR_COLLECTIVE_AUTH_MISMATCH');
          }
          if (secret === undefined) return finish(undefined);
          link.send({ t: 'auth', p: { proof: proofFor(secret, options.id, peer.id, nonce, peer.nonce) } });
          return;
        }
        if (message.t !== 'auth' || secret === undefined) throw new ProtocolError(`expected auth, got ${message.t}`);
        if (!verifyProof(secret, decodeAuth(message.p), options.id, peer.id, nonce, peer.nonce)) {
          throw new AuthError(`the peer ${peer.id} failed authentication: its \`secret\` differs from this hub's`);
        }
        finish(undefined);
      } catch (error) {
        finish(error instanceof TypeError ? new ProtocolError(error.message) : (error as Error));
      }
    };
    const timer = setTimeout(
      () => finish(new TimeoutError(`no handshake within ${options.timeoutMs ?? 5000} ms`, 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT')),
      options.timeoutMs ?? 5000,
    );
    timer.unref();
    link.on('message', onMessage);
    link.on('close', onClose);
    link.send({
      t: 'hello',
      p: encodeHello({ id: options.id, wall: clock.wall, count: clock.count, nonce, authenticates: secret !== undefined, listenPort: options.listenPort, horizon: options.horizon, hybrid: options.hybrid }),
    });
  });
}
