import type { Socket } from 'node:net';
import { logger } from '../log.js';
import { BaseLink } from './link.js';

const log = logger('pipe');

/** Largest message accepted on a pipe: a longer line is a broken peer, not data. */
export const MAX_PIPE_MESSAGE_BYTES = 64 * 1024 * 1024;

/** How much may wait to be written to the other side before it counts as too far behind. */
export const DEFAULT_MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

/** How long the backlog may stay over that before the link gives up. */
export const DEFAULT_LAG_GRACE_MS = 2000;

/**
 * A link over a byte stream carrying newline-delimited JSON: the extra stdio pipe that a hub
 * gives each worker it forks. It is collective's own channel, so the application's IPC
 * messages and collective's never see each other. (JSON.stringify never emits a raw newline,
 * so a newline always ends a message.)
 */
export class PipeLink extends BaseLink {
  readonly label: string;
  readonly #socket: Socket;
  readonly #maxBacklogBytes: number;
  readonly #lagGraceMs: number;
  #overSince: number | undefined;
  #buffered: string[] = [];
  #bufferedBytes = 0;
  /** Set when the link closed because the other side stopped reading. */
  lagging = false;

  constructor(socket: Socket, label: string, options: { maxBacklogBytes?: number; lagGraceMs?: number } = {}) {
    super();
    this.label = label;
    this.#socket = socket;
    this.#maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    this.#lagGraceMs = options.lagGraceMs ?? DEFAULT_LAG_GRACE_MS;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#socketOnData(chunk));
    socket.on('error', (error) => this.close(error));
    socket.on('close', () => this.close());
  }

  #socketOnData(chunk: string): void {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      const line = this.#buffered.length === 0 ? chunk.slice(start, end) : this.#buffered.join('') + chunk.slice(start, end);
      this.#buffered = [];
      this.#bufferedBytes = 0;
      start = end + 1;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        log('%s: dropping the link: a message is not JSON', this.label);
        this.close(new Error('malformed message on the pipe'));
        return;
      }
      this.deliver(message);
      if (this.closed) return;
    }
    if (start < chunk.length) {
      this.#bufferedBytes += chunk.length - start;
      if (this.#bufferedBytes > MAX_PIPE_MESSAGE_BYTES) {
        log('%s: dropping the link: a message is over %d bytes', this.label, MAX_PIPE_MESSAGE_BYTES);
        this.close(new Error('oversized message on the pipe'));
        return;
      }
      this.#buffered.push(chunk.slice(start));
    }
  }

  send(message: object): boolean {
    return this.sendEncoded(JSON.stringify(message));
  }

  /** Sends a message already encoded with JSON.stringify (encode once, send to many). */
  sendEncoded(json: string): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    this.#socket.write(`${json}\n`);
    // A reader that stopped (a worker stuck in a long synchronous task) must not make this
    // process buffer without bound. A big message (a snapshot) or a burst can go over the
    // limit for a moment while the reader is fine, so the link gives up only when the backlog
    // stays over it for the whole grace period; the other side then starts over from a snapshot.
    if (this.#socket.writableLength <= this.#maxBacklogBytes) {
      this.#overSince = undefined;
      return true;
    }
    const now = Date.now();
    this.#overSince ??= now;
    if (now - this.#overSince < this.#lagGraceMs) return true;
    log('%s: dropping the link: over %d bytes queued for %d ms, the other side is too far behind', this.label, this.#maxBacklogBytes, now - this.#overSince);
    this.lagging = true;
    this.close(new Error(`over ${this.#maxBacklogBytes} bytes queued for ${now - this.#overSince} ms: the other side is too far behind`));
    return false;
  }

  ref(): void {
    this.#socket.ref();
  }

  /** Lets the process exit while the pipe is idle (a worker must not stay up for it). */
  unref(): void {
    this.#socket.unref();
  }

  protected release(): void {
    this.#socket.destroy();
  }
}
