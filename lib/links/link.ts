import { EventEmitter } from 'node:events';
import { ProtocolError } from '../errors.js';

/** Events of a link. `close` fires once, with the reason when the link failed. */
export interface LinkEvents {
  message: [message: unknown];
  close: [reason: Error | undefined];
}

/**
 * One connection between two roles, whatever carries it: in-memory, a cluster worker's pipe or
 * IPC channel, a worker thread's port, or TCP. Messages are plain JSON-able objects; what
 * arrives is untrusted and must be validated by the receiver.
 */
export interface Link extends EventEmitter<LinkEvents> {
  /** A label for logs (`pipe:1234`, `memory`, ...). */
  label: string;
  /** Whether the link is closed (no more messages either way). */
  readonly closed: boolean;
  /** Queues a message; returns false when the link is closed (the message is dropped). */
  send(message: object): boolean;
  /** Closes the link; `close` is emitted once. */
  close(reason?: Error): void;
  /** Keeps the process alive for this link (while an answer is awaited), where that applies. */
  ref?(): void;
  /** Lets the process exit while this link is idle, where that applies. */
  unref?(): void;
  /** Bytes written and not yet taken by the other side, where the transport can tell. */
  readonly queuedBytes?: number;
}

/** Shared bookkeeping of links: the closed flag and the single `close` event. */
export abstract class BaseLink extends EventEmitter<LinkEvents> implements Link {
  abstract label: string;
  #closed = false;
  /** Set when the link closed because the other side stopped reading (see BacklogGuard). */
  lagging = false;

  get closed(): boolean {
    return this.#closed;
  }

  abstract send(message: object): boolean;

  /** Releases the transport; called once by `close`. */
  protected abstract release(): void;

  close(reason?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.release();
    this.emit('close', reason);
  }

  /**
   * After a write: when `lag` says the other side is too far behind, closes the link (marked
   * lagging, with `log` told why) and returns false; otherwise true.
   */
  protected keepUnlessLagging(lag: string | undefined, log: (format: string, ...args: unknown[]) => void): boolean {
    if (lag === undefined) return true;
    log('%s: dropping the link: %s', this.label, lag);
    this.lagging = true;
    this.close(new ProtocolError(lag, 'ERR_COLLECTIVE_PEER_LAGGING'));
    return false;
  }

  /** Delivers a received message; a throwing listener must not kill the transport's callback. */
  protected deliver(message: unknown): void {
    if (this.#closed) return;
    this.emit('message', message);
  }
}
