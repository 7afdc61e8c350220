import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ProtocolError } from '../errors.js';
import { logger } from '../log.js';
import { BaseLink } from './link.js';

const log = logger('port');

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

  constructor(port: MessagePort, label: string) {
    super();
    this.label = label;
    this.#port = port;
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      log('%s: dropping the link: a message is not JSON', this.label);
      this.close(new ProtocolError('a message on the port is not JSON', 'ERR_COLLECTIVE_FRAME_JSON'));
      return;
    }
    this.deliver(parsed);
  }

  send(message: object): boolean {
    const json = this.encode(message, log);
    return json !== undefined && this.sendEncoded(json);
  }

  /** Sends a message already encoded with JSON.stringify (encode once, send to many). */
  sendEncoded(json: string): boolean {
    if (this.closed) return false;
    this.#port.postMessage(json);
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
    this.#port.close();
  }
}
