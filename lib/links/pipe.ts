import type { Socket } from 'node:net';
import { ProtocolError } from '../errors.js';
import { logger } from '../log.js';
import { DEFAULTS } from '../defaults.js';
import { BacklogGuard, type BacklogOptions } from './backlog.js';
import { BaseLink, MAX_TEXT_MESSAGE_BYTES } from './link.js';
import { PartsSender } from './parts.js';

const log = logger('pipe');


// A message in parts is written while the socket holds less than this.
const PARTS_HIGH_WATER = 4 * 1024 * 1024;

/** Options of a pipe link. */
export interface PipeLinkOptions extends BacklogOptions {
  /** Longest message accepted. @default MAX_TEXT_MESSAGE_BYTES */
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
  #charsReceived = 0;
  // Messages going out in parts, and what waits behind them.
  readonly #parts: PartsSender;

  constructor(socket: Socket, label: string, options: PipeLinkOptions = {}) {
    super();
    this.label = label;
    this.#socket = socket;
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_TEXT_MESSAGE_BYTES;
    this.#backlog = new BacklogGuard({ maxBacklogBytes: options.maxBacklogBytes ?? DEFAULTS.maxWorkerBacklog, lagGraceMs: options.lagGraceMs ?? DEFAULTS.lagGraceMs });
    this.#parts = new PartsSender({
      part: (text) => socket.write(text),
      end: () => socket.write('\n'),
      whole: (json) => socket.write(`${json}\n`),
      full: (resume) => {
        if (socket.writableLength <= PARTS_HIGH_WATER) return false;
        socket.once('drain', resume);
        return true;
      },
      gone: () => this.closed || socket.destroyed,
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#socketOnData(chunk));
    socket.on('error', (error) => this.close(error));
    socket.on('close', () => this.close());
  }

  #socketOnData(chunk: string): void {
    this.#charsReceived += chunk.length;
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
      this.deliver(message, line);
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

  /** Characters of JSON text received so far (see Link.bytesReceived: a count that grows is enough). */
  get bytesReceived(): number {
    return this.#charsReceived;
  }

  send(message: object): boolean {
    const json = this.encode(message, log);
    return json !== undefined && this.sendEncoded(json);
  }

  /** Sends a message already encoded with JSON.stringify (encode once, send to many). */
  sendEncoded(json: string): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    if (this.#parts.busy) return this.#wait(json);
    this.#socket.write(`${json}\n`);
    return this.keepUnlessLagging(this.#backlog.check(this.#socket), log);
  }

  sendInParts(parts: Iterator<string>): boolean {
    if (this.closed || this.#socket.destroyed) return false;
    this.#parts.send(parts);
    return !this.closed;
  }

  // While a message goes out in parts, what is sent meanwhile waits behind it (bounded like
  // the socket's backlog: a reader that far behind is dropped).
  #wait(json: string): boolean {
    this.#parts.wait(json, json.length);
    if (this.#parts.waitingBytes <= this.#backlog.maxBacklogBytes) return true;
    return this.keepUnlessLagging(`over ${this.#backlog.maxBacklogBytes} bytes waiting behind a message sent in parts`, log);
  }

  /** Bytes written and not yet taken by the other side (and waiting behind a message in parts). */
  get queuedBytes(): number {
    return this.#socket.writableLength + this.#parts.waitingBytes;
  }

  ref(): void {
    this.#socket.ref();
  }

  /** Lets the process exit while the pipe is idle (a worker must not stay up for it). */
  unref(): void {
    this.#socket.unref();
  }

  protected release(): void {
    this.#parts.close();
    this.#socket.destroy();
  }
}
