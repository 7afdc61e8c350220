import { EventEmitter } from 'node:events';
import { ProtocolError } from '../errors.js';

/**
 * Largest message accepted on a link that carries JSON text (a pipe, a port): a longer one is a
 * broken peer, not data. A snapshot of the whole store is one message, so this is just under
 * the longest string V8 can hold, which the text must become to be parsed.
 */
export const MAX_TEXT_MESSAGE_BYTES = 500 * 1024 * 1024;

/** Events of a link. `close` fires once, with the reason when the link failed. */
export interface LinkEvents {
  /**
   * A message arrived: untrusted, to be checked by the receiver's wire guards. It is the
   * receiver's own (freshly decoded, held by nobody else), so the guards may check and freeze
   * its values in place instead of copying them. `text`, on links that carry JSON text (a
   * pipe, a port, in memory), is the whole text it was parsed from, exactly as it came: a
   * receiver may pass on parts of it it has checked instead of encoding them again.
   */
  message: [message: unknown, text?: string];
  close: [reason: Error | undefined];
}

/**
 * One connection between two roles, whatever carries it: in-memory, a cluster worker's pipe or
 * IPC channel, a worker thread's port, or TCP. `Out` is what it sends; what arrives is
 * `unknown` and goes through the receiving role's wire guards.
 */
export interface Link<Out extends object = object> extends EventEmitter<LinkEvents> {
  /** A label for logs (`pipe:1234`, `memory`, ...). */
  label: string;
  /** Whether the link is closed (no more messages either way). */
  readonly closed: boolean;
  /**
   * Queues a message. Never throws: false when the link is closed, or when it cannot carry this
   * message (not JSON, too large: the reason is logged), and then nothing of it was sent.
   */
  send(message: Out): boolean;
  /**
   * Sends a message already encoded with `JSON.stringify` (encode once, send to many), where the
   * transport carries JSON text. Same contract as `send`.
   */
  sendEncoded?(json: string): boolean;
  /**
   * Sends one message whose JSON text comes in parts (see wire/json-slices.ts), written a few
   * per turn as the transport takes them, so that no turn writes the whole of a large message
   * (a snapshot); messages sent meanwhile follow it. Where a transport has no use for it, absent.
   */
  sendInParts?(parts: Iterator<string>): boolean;
  /**
   * The same for a link of typed frames (TCP between hubs): a message of `type` whose payload's
   * JSON text comes in parts.
   */
  sendPayloadInParts?(type: string, parts: Iterator<string>): boolean;
  /** Closes the link; `close` is emitted once. */
  close(reason?: Error): void;
  /** Keeps the process alive for this link (while an answer is awaited), where that applies. */
  ref?(): void;
  /** Lets the process exit while this link is idle, where that applies. */
  unref?(): void;
  /** Bytes written and not yet taken by the other side, where the transport can tell. */
  readonly queuedBytes?: number;
  /**
   * Bytes received so far, where the transport counts them: a message that takes longer to
   * arrive than a peer may stay silent still shows the peer alive.
   */
  readonly bytesReceived?: number;
}

/** Shared bookkeeping of links: the closed flag, the single `close` event, safe delivery. */
export abstract class BaseLink<Out extends object = object> extends EventEmitter<LinkEvents> implements Link<Out> {
  abstract label: string;
  #closed = false;
  /** Set when the link closed because the other side stopped reading (see BacklogGuard). */
  lagging = false;

  get closed(): boolean {
    return this.#closed;
  }

  abstract send(message: Out): boolean;

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

  /**
   * Delivers a received message to the role listening. Roles check what they receive and
   * never throw at a transport; if one did (a bug), the transport's callback must go on: the
   * link is closed with that error, and the error is thrown again outside the callback so
   * that it is not lost.
   */
  protected deliver(message: unknown, text?: string): void {
    if (this.#closed) return;
    try {
      this.emit('message', message, text);
    } catch (error) {
      this.close(error as Error);
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** Encodes a message for a transport of JSON text; undefined (logged by `log`) if it is not JSON. */
  protected encode(message: Out, log: (format: string, ...args: unknown[]) => void): string | undefined {
    try {
      const json = JSON.stringify(message);
      if (typeof json === 'string') return json;
      log('%s: cannot send a message that is not JSON', this.label);
    } catch (error) {
      log('%s: cannot send a message: %s', this.label, (error as Error).message);
    }
    return undefined;
  }
}
