import type { Socket } from 'node:net';
import { logger } from '../log.js';
import { DEFAULTS } from '../defaults.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encodeFrames, endFrame, moreFrames } from '../wire/frame.js';
import { ProtocolError } from '../errors.js';
import { BacklogGuard, type BacklogOptions } from './backlog.js';
import { BaseLink } from './link.js';
import { PartsSender } from './parts.js';

const log = logger('tcp');

// A message in parts is written while the socket holds less than this.
const PARTS_HIGH_WATER = 4 * 1024 * 1024;

/** What a TCP link carries: a message type (the frame's type) and a JSON payload. */
export interface FrameMessage {
  t: string;
  p?: unknown;
}

/** Options of a TCP link. */
export interface TcpLinkOptions extends BacklogOptions {
  /** Largest frame sent or accepted. @default 16777216 (16 MiB) */
  maxFrameBytes?: number;
}

/**
 * A link between two hubs over a TCP (or TLS) socket, carrying frames (wire/frame.ts): each
 * message is a type and a JSON payload, `{ t, p }`. A byte stream that is not frames closes it
 * with the FrameError saying why; a peer too far behind is dropped rather than buffered for.
 * (Heartbeats are the protocol's: mesh/session.ts.)
 */
export class TcpLink extends BaseLink<FrameMessage> {
  /** For logs: the direction and address, and the peer's id once its hello told it. */
  label: string;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #maxFrameBytes: number;
  readonly #backlog: BacklogGuard;
  // Messages going out in parts (their frames: `more`, then one of their type, which ends it),
  // and those end frames, in order; whole messages wait behind them as their frames.
  readonly #parts: PartsSender<Buffer[]>;
  readonly #partEnds: Buffer[] = [];
  #bytesReceived = 0;

  constructor(socket: Socket, label: string, options: TcpLinkOptions = {}) {
    super();
    this.label = label;
    this.#socket = socket;
    this.#parts = new PartsSender<Buffer[]>({
      part: (text) => this.#write(moreFrames(text, this.#maxFrameBytes)),
      end: () => socket.write(this.#partEnds.shift()!),
      whole: (frames) => this.#write(frames),
      full: (resume) => {
        if (socket.writableLength <= PARTS_HIGH_WATER) return false;
        socket.once('drain', resume);
        return true;
      },
      gone: () => this.closed || socket.destroyed,
    });
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#decoder = new FrameDecoder(this.#maxFrameBytes);
    this.#backlog = new BacklogGuard({ maxBacklogBytes: options.maxBacklogBytes ?? DEFAULTS.maxPeerBacklog, lagGraceMs: options.lagGraceMs ?? DEFAULTS.lagGraceMs });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#socketOnData(chunk));
    socket.on('error', (error) => this.close(error));
    socket.on('close', () => this.close());
  }

  #socketOnData(chunk: Buffer): void {
    this.#bytesReceived += chunk.length;
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
      this.deliver({ t: frame.type, p: frame.payload });
      if (this.closed) return;
    }
  }

  /**
   * Sends a message: one frame, or several when it is over the frame limit (wire/frame.ts).
   * False, with the reason logged, for a message a frame cannot carry (a bad type, a payload
   * that is not JSON, over 500 MiB): nothing of it is sent.
   */
  send(message: FrameMessage): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    let frames: Buffer[];
    try {
      frames = encodeFrames(message.t, message.p ?? null, this.#maxFrameBytes);
    } catch (error) {
      log('%s: cannot send a %s message: %s', this.label, String(message.t), (error as Error).message);
      return false;
    }
    if (this.#parts.busy) {
      // Behind a message in parts: it waits, bounded like the socket's backlog.
      this.#parts.wait(frames, frames.reduce((sum, frame) => sum + frame.length, 0));
      if (this.#parts.waitingBytes <= this.#backlog.maxBacklogBytes) return true;
      return this.keepUnlessLagging(`over ${this.#backlog.maxBacklogBytes} bytes waiting behind a message sent in parts`, log);
    }
    this.#write(frames);
    return this.keepUnlessLagging(this.#backlog.check(this.#socket), log);
  }

  /**
   * Sends a message of `type` whose payload's JSON text comes in parts (a snapshot: see
   * wire/json-slices.ts), as `more` frames written a few milliseconds' worth per turn while the
   * socket takes them, then the frame that closes it; what is sent meanwhile follows it.
   */
  sendPayloadInParts(type: string, parts: Iterator<string>): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    let end: Buffer;
    try {
      end = endFrame(type);
    } catch (error) {
      log('%s: cannot send a %s message: %s', this.label, type, (error as Error).message);
      return false;
    }
    this.#partEnds.push(end);
    this.#parts.send(parts);
    return !this.closed;
  }

  #write(frames: Buffer[]): void {
    if (frames.length === 1) this.#socket.write(frames[0]!);
    else {
      this.#socket.cork();
      for (const frame of frames) this.#socket.write(frame);
      this.#socket.uncork();
    }
  }

  /** Bytes written and not yet taken by the peer (and waiting behind a message in parts). */
  get queuedBytes(): number {
    return this.#socket.writableLength + this.#parts.waitingBytes;
  }

  /** Bytes received so far (see Link.bytesReceived). */
  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** The address of the other side, for logs. */
  get remote(): string {
    return `${this.#socket.remoteAddress ?? '?'}:${this.#socket.remotePort ?? '?'}`;
  }

  protected release(): void {
    this.#socket.destroy();
  }
}
