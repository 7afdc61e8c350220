import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { logger } from '../log.js';
import { BaseLink } from './link.js';

const log = logger('port');

/**
 * A link over a worker-thread `MessagePort`: between a thread and the member or hub it belongs
 * to. Messages are structured-cloned, not encoded. The port closes when either side closes it
 * or when the thread exits, which closes the link.
 */
export class PortLink extends BaseLink {
  readonly label: string;
  readonly #port: MessagePort;

  constructor(port: MessagePort, label: string) {
    super();
    this.label = label;
    this.#port = port;
    port.on('message', (message: unknown) => this.deliver(message));
    port.on('close', () => this.close());
    port.on('messageerror', (error) => {
      log('%s: dropping the link: a message could not be deserialized: %s', this.label, error.message);
      this.close(error);
    });
  }

  send(message: object): boolean {
    if (this.closed) return false;
    try {
      this.#port.postMessage(message);
      return true;
    } catch (error) {
      // Only a value that cannot be cloned gets here; members and hubs send plain data.
      log('%s: send failed, closing: %s', this.label, (error as Error).message);
      this.close(error as Error);
      return false;
    }
  }

  /**
   * Delivers every message already waiting on the port, now: a thread that was blocked between
   * tasks (tinypool's `useAtomics`) catches up before the next task reads.
   */
  drain(): void {
    for (let entry = receiveMessageOnPort(this.#port); entry !== undefined && !this.closed; entry = receiveMessageOnPort(this.#port)) {
      this.deliver(entry.message);
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
