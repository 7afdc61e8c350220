import { logger } from '../log.js';
import { BaseLink } from './link.js';

const log = logger('ipc');

/** The tag on every collective message that travels on a shared IPC channel. */
export const IPC_TAG = 'collective';

/** What a process or a cluster worker offers for IPC. */
export interface IpcEndpoint {
  send?(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'disconnect', listener: () => void): unknown;
  readonly connected?: boolean;
}

/** Whether `message` is collective's, on a channel it shares with the application. */
export function isCollectiveIpcMessage(message: unknown): message is { [IPC_TAG]: unknown } {
  return typeof message === 'object' && message !== null && Object.hasOwn(message, IPC_TAG);
}

/**
 * A link over Node's IPC channel (a worker's `process`, or a `cluster.Worker` in the
 * primary), used when no pipe of collective's own exists: for workers forked before the hub
 * started. Every message is tagged `{ collective: ... }`; untagged messages are the
 * application's and are left alone. The application's own 'message' listeners see the tagged
 * ones too (Node gives every message to every listener): skip them with
 * `isCollectiveIpcMessage`.
 *
 * The channel is the application's and stays open when the link closes: closing sends the other
 * end a tagged notice (`CLOSE_NOTICE`), on which its link closes too.
 */
/** What a link's payload is when the other end closed its link (never a protocol message: those are objects). */
const CLOSE_NOTICE = 'close';

export class IpcLink extends BaseLink {
  readonly label: string;
  readonly #endpoint: IpcEndpoint;
  readonly #onMessage = (message: unknown): void => {
    if (!isCollectiveIpcMessage(message)) return;
    if (message[IPC_TAG] === CLOSE_NOTICE) this.#closedByPeer = true;
    if (this.#closedByPeer) this.close();
    else this.deliver(message[IPC_TAG]);
  };
  #closedByPeer = false;
  readonly #onDisconnect = (): void => this.close();

  constructor(endpoint: IpcEndpoint, label: string) {
    super();
    this.label = label;
    this.#endpoint = endpoint;
    endpoint.on('message', this.#onMessage);
    endpoint.on('disconnect', this.#onDisconnect);
  }

  send(message: object): boolean {
    const endpoint = this.#endpoint;
    if (this.closed || endpoint.send === undefined || endpoint.connected === false) return false;
    // A worker exiting mid-stream makes the send fail (ERR_IPC_CHANNEL_CLOSED, EPIPE): that is
    // the link closing, not an error to throw at whoever wrote.
    const failed = (error: Error): void => {
      log('%s: send failed, closing: %s', this.label, error.message);
      this.close();
    };
    try {
      endpoint.send({ [IPC_TAG]: message }, (error) => {
        if (error) failed(error);
      });
    } catch (error) {
      // Thrown at once: the message could not be serialized (a channel that closed reports
      // through the callback). Nothing was sent; the link stays.
      log('%s: cannot send a message: %s', this.label, (error as Error).message);
      return false;
    }
    return true;
  }

  protected release(): void {
    this.#endpoint.off('message', this.#onMessage);
    this.#endpoint.off('disconnect', this.#onDisconnect);
    const endpoint = this.#endpoint;
    if (!this.#closedByPeer && endpoint.send !== undefined && endpoint.connected !== false) {
      try {
        endpoint.send({ [IPC_TAG]: CLOSE_NOTICE }, () => undefined);
      } catch {
        // the channel is going away: the other end learns from its disconnect
      }
    }
  }
}
