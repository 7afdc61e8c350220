import type { Socket } from 'node:net';
import { ProtocolError } from '../errors.js';
import { logger } from '../log.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encodeFrames } from '../wire/frame.js';
import { BacklogGuard, type BacklogOptions } from './backlog.js';
import { BaseLink } from './link.js';

const log = logger('tcp');

/** A message on a hub-to-hub link: the frame type and its payload. */
export interface FrameMessage {
  t: string;
  p?: unknown;
}

/** Options of a TCP link. */
export interface TcpLinkOptions extends BacklogOptions {
  /** Largest frame sent or accepted. @default 16777216 (16 MiB) */
  maxFrameBytes?: number;
  /** Ping when nothing was sent for this long; drop a peer silent for 3 times this. @default 1000 */
  heartbeatMs?: number;
}

const PING = 'ping';

/**
 * A link between two hubs over a TCP (or TLS) socket, carrying frames (wire/frame.ts). It
 * keeps itself honest: a bad frame closes it with a ProtocolError (the hub counts those); an
 * idle link pings, and a peer silent for three heartbeats is dropped, since a cut link stalls
 * TCP without an error; a peer too far behind is dropped rather than buffered for.
 */
export class TcpLink extends BaseLink {
  /** For logs: the direction and address, and the peer's id once the handshake told it. */
  label: string;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #maxFrameBytes: number;
  readonly #backlog: BacklogGuard;
  readonly #heartbeat: NodeJS.Timeout;
  #lastSent = Date.now();
  #lastReceived = Date.now();

  constructor(socket: Socket, label: string, options: TcpLinkOptions = {}) {
    super();
    this.label = label;
    this.#socket = socket;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#decoder = new FrameDecoder(this.#maxFrameBytes);
    this.#backlog = new BacklogGuard(options);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#socketOnData(chunk));
    socket.on('error', (error) => this.close(error));
    socket.on('close', () => this.close());
    const heartbeatMs = options.heartbeatMs ?? 1000;
    this.#heartbeat = setInterval(() => this.#beat(heartbeatMs), Math.max(10, Math.floor(heartbeatMs / 2)));
    this.#heartbeat.unref();
  }

  #socketOnData(chunk: Buffer): void {
    this.#lastReceived = Date.now();
    let frames;
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      // The decoder throws FrameErrors only, each with the code of the rule the bytes broke.
      const reason = error instanceof ProtocolError ? error : new ProtocolError(String(error));
      log('%s: dropping the link: %s', this.label, reason.message);
      this.close(reason);
      return;
    }
    for (const frame of frames) {
      if (frame.type === PING) continue;
      this.deliver({ t: frame.type, p: frame.payload });
      if (this.closed) return;
    }
  }

  #beat(heartbeatMs: number): void {
    const now = Date.now();
    if (now - this.#lastReceived > 3 * heartbeatMs) {
      log('%s: dropping the link: nothing received for %d ms', this.label, now - this.#lastReceived);
      this.close(new ProtocolError(`nothing received for ${now - this.#lastReceived} ms (3 heartbeats)`, 'ERR_COLLECTIVE_PEER_SILENT'));
      return;
    }
    if (now - this.#lastSent >= heartbeatMs) this.send({ t: PING });
  }

  /**
   * Sends a message: one frame, or several when it is over the frame limit (wire/frame.ts).
   * Throws a RangeError past MAX_MESSAGE_BYTES.
   */
  send(message: object): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    const { t, p } = message as FrameMessage;
    const frames = encodeFrames(t, p ?? null, this.#maxFrameBytes);
    if (frames.length === 1) this.#socket.write(frames[0]!);
    else {
      this.#socket.cork();
      for (const frame of frames) this.#socket.write(frame);
      this.#socket.uncork();
    }
    this.#lastSent = Date.now();
    return this.keepUnlessLagging(this.#backlog.check(this.#socket), log);
  }

  /** Bytes written and not yet taken by the peer. */
  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  /** The address of the other side, for logs. */
  get remote(): string {
    return `${this.#socket.remoteAddress ?? '?'}:${this.#socket.remotePort ?? '?'}`;
  }

  protected release(): void {
    clearInterval(this.#heartbeat);
    this.#socket.destroy();
  }
}
