import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ProtocolError } from '../errors.js';
import { logger } from '../log.js';
import { BaseLink, MAX_TEXT_MESSAGE_BYTES } from './link.js';
import { PartsSender } from './parts.js';

const log = logger('port');

// A message sent in parts travels as posts of its parts, each marked by a first character no
// JSON text starts with, then an end mark; whole messages are JSON text, as they are.
const PART = '\u0001';
const END = '\u0002';

/**
 * A link over a worker-thread `MessagePort`: between a thread and the member or hub it belongs
 * to. Messages travel as JSON text, like on a worker's pipe: a hub encodes each stream batch
 * once for all its members (a structured clone would serialize it again for every thread), and
 * what arrives is fresh data that decoders may validate in place. The port closes when either
 * side closes it or when the thread exits, which closes the link.
 */
export class PortLink extends BaseLink {
  readonly label: string;
  readonly #port: MessagePort;
  readonly #parts: PartsSender;
  // The parts of a message arriving in parts, and their length so far.
  #arriving: string[] = [];
  #arrivingBytes = 0;
  #charsReceived = 0;

  constructor(port: MessagePort, label: string) {
    super();
    this.label = label;
    this.#port = port;
    this.#parts = new PartsSender({
      part: (text) => port.postMessage(PART + text),
      end: () => port.postMessage(END),
      whole: (json) => port.postMessage(json),
      full: () => false,
      gone: () => this.closed,
    });
    port.on('message', (message: unknown) => this.#receive(message));
    port.on('close', () => this.close());
    port.on('messageerror', (error) => {
      log('%s: dropping the link: a message could not be deserialized: %s', this.label, error.message);
      this.close(error);
    });
  }

  #receive(message: unknown): void {
    if (typeof message !== 'string') {
      log('%s: dropping the link: a message that is not JSON text', this.label);
      this.close(new ProtocolError('a message on the port is not JSON text', 'ERR_COLLECTIVE_FRAME_JSON'));
      return;
    }
    this.#charsReceived += message.length;
    if (message.startsWith(PART)) {
      this.#arrivingBytes += message.length - 1;
      if (this.#arrivingBytes > MAX_TEXT_MESSAGE_BYTES) {
        log('%s: dropping the link: a message is over %d bytes', this.label, MAX_TEXT_MESSAGE_BYTES);
        this.close(new ProtocolError(`a message on the port is over ${MAX_TEXT_MESSAGE_BYTES} bytes`, 'ERR_COLLECTIVE_FRAME_TOO_LARGE'));
        return;
      }
      this.#arriving.push(message.slice(1));
      return;
    }
    let text: string = message;
    if (message === END) {
      text = this.#arriving.join('');
      this.#arriving = [];
      this.#arrivingBytes = 0;
    } else if (this.#arriving.length > 0) {
      // The sender holds every other message back until the end of one in parts.
      log('%s: dropping the link: a message inside one sent in parts', this.label);
      this.close(new ProtocolError('a message on the port came inside one sent in parts', 'ERR_COLLECTIVE_FRAME_JSON'));
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      log('%s: dropping the link: a message is not JSON', this.label);
      this.close(new ProtocolError('a message on the port is not JSON', 'ERR_COLLECTIVE_FRAME_JSON'));
      return;
    }
    this.deliver(parsed, text);
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
    if (this.closed) return false;
    if (this.#parts.busy) this.#parts.wait(json, json.length);
    else this.#port.postMessage(json);
    return true;
  }

  /**
   * Posts a message's parts a few milliseconds' worth per turn (a port has no backpressure to
   * wait for); the other end joins them before parsing.
   */
  sendInParts(parts: Iterator<string>): boolean {
    if (this.closed) return false;
    this.#parts.send(parts);
    return true;
  }

  /**
   * Delivers every message already waiting on the port, now: a thread that was blocked between
   * tasks (tinypool's `useAtomics`) catches up before the next task reads.
   */
  drain(): void {
    for (let entry = receiveMessageOnPort(this.#port); entry !== undefined && !this.closed; entry = receiveMessageOnPort(this.#port)) {
      this.#receive(entry.message);
    }
  }

  ref(): void {
    this.#port.ref();
  }

  unref(): void {
    this.#port.unref();
  }

  protected release(): void {
    this.#parts.close();
    this.#port.close();
  }
}
