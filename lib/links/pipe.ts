import type { Socket } from 'node:net';
import { ProtocolError } from '../errors.js';
import { logger } from '../log.js';
import { DEFAULTS } from '../defaults.js';
import { BacklogGuard, type BacklogOptions } from './backlog.js';
import { BaseLink } from './link.js';

const log = logger('pipe');

/**
 * Largest message accepted on a pipe: a longer line is a broken peer, not data. A message is
 * not split (a snapshot of the whole store is one line), so this is just under the longest
 * string V8 can hold, which the line must become to be parsed.
 */
export const MAX_PIPE_MESSAGE_BYTES = 500 * 1024 * 1024;

// A message in parts is written while the socket holds less than this, for this long per turn.
const PARTS_HIGH_WATER = 4 * 1024 * 1024;
const PARTS_TURN_MS = 8;

/** Options of a pipe link. */
export interface PipeLinkOptions extends BacklogOptions {
  /** Longest message accepted. @default MAX_PIPE_MESSAGE_BYTES */
  maxMessageBytes?: number;
}

/**
 * A link over a byte stream carrying newline-delimited JSON: the extra stdio pipe that a hub
 * gives each worker it forks. It is collective's own channel, so the application's IPC
 * messages and collective's never see each other. (JSON.stringify never emits a raw newline,
 * so a newline always ends a message.)
 */
export class PipeLink extends BaseLink {
  readonly label: string;
  readonly #socket: Socket;
  readonly #backlog: BacklogGuard;
  readonly #maxMessageBytes: number;
  #buffered: string[] = [];
  #bufferedBytes = 0;
  // The message going out in parts, if any, and what waits behind it.
  #parts: Iterator<string> | undefined;
  #waiting: (string | Iterator<string>)[] = [];
  #waitingBytes = 0;

  constructor(socket: Socket, label: string, options: PipeLinkOptions = {}) {
    super();
    this.label = label;
    this.#socket = socket;
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_PIPE_MESSAGE_BYTES;
    this.#backlog = new BacklogGuard({ maxBacklogBytes: options.maxBacklogBytes ?? DEFAULTS.maxWorkerBacklog, lagGraceMs: options.lagGraceMs ?? DEFAULTS.lagGraceMs });
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
        this.close(new ProtocolError('a message on the pipe is not JSON', 'ERR_COLLECTIVE_FRAME_JSON'));
        return;
      }
      this.deliver(message);
      if (this.closed) return;
    }
    if (start < chunk.length) {
      this.#bufferedBytes += chunk.length - start;
      if (this.#bufferedBytes > this.#maxMessageBytes) {
        log('%s: dropping the link: a message is over %d bytes', this.label, this.#maxMessageBytes);
        this.close(new ProtocolError(`a message on the pipe is over ${this.#maxMessageBytes} bytes`, 'ERR_COLLECTIVE_FRAME_TOO_LARGE'));
        return;
      }
      this.#buffered.push(chunk.slice(start));
    }
  }

  send(message: object): boolean {
    const json = this.encode(message, log);
    return json !== undefined && this.sendEncoded(json);
  }

  /** Sends a message already encoded with JSON.stringify (encode once, send to many). */
  sendEncoded(json: string): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    if (this.#parts !== undefined) return this.#queue(json);
    this.#socket.write(`${json}\n`);
    return this.keepUnlessLagging(this.#backlog.check(this.#socket), log);
  }

  sendInParts(parts: Iterator<string>): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    if (this.#parts !== undefined) return this.#queue(parts);
    this.#parts = parts;
    this.#pump();
    return !this.closed;
  }

  // While a message goes out in parts, what is sent meanwhile waits here, in order (bounded
  // like the socket's backlog: a reader that far behind is dropped).
  #queue(message: string | Iterator<string>): boolean {
    this.#waiting.push(message);
    if (typeof message === 'string') this.#waitingBytes += message.length;
    if (this.#waitingBytes <= this.#backlog.maxBacklogBytes) return true;
    return this.keepUnlessLagging(`over ${this.#backlog.maxBacklogBytes} bytes waiting behind a message sent in parts`, log);
  }

  // Writes parts of the message in progress for a few milliseconds, or until the socket holds
  // enough (then on 'drain'); then what waited behind it, until another message in parts.
  #pump = (): void => {
    const socket = this.#socket;
    const started = Date.now();
    while (this.#parts !== undefined) {
      if (this.closed || socket.destroyed) return;
      if (socket.writableLength > PARTS_HIGH_WATER) {
        socket.once('drain', this.#pump);
        return;
      }
      if (Date.now() - started >= PARTS_TURN_MS) {
        setImmediate(this.#pump);
        return;
      }
      const next = this.#parts.next();
      if (next.done !== true) {
        socket.write(next.value);
        continue;
      }
      socket.write('\n');
      this.#parts = undefined;
      while (this.#parts === undefined && this.#waiting.length > 0) {
        const message = this.#waiting.shift()!;
        if (typeof message === 'string') {
          this.#waitingBytes -= message.length;
          socket.write(`${message}\n`);
        } else this.#parts = message;
      }
    }
  };

  /** Bytes written and not yet taken by the other side (and waiting behind a message in parts). */
  get queuedBytes(): number {
    return this.#socket.writableLength + this.#waitingBytes;
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
