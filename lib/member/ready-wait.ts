import { TimeoutError, handled } from '../errors.js';
import type { Link } from '../links/link.js';

/**
 * A member's wait for its hub's first snapshot: `promise` resolves once it is there (`done`),
 * and rejects when the link closes first (`fail`) or when no hub answered within `timeoutMs`.
 * A hub whose snapshot is still arriving has answered (a large store takes seconds): the wait
 * goes on for as long as the link keeps receiving, where it counts what it received.
 */
export class ReadyWait {
  /** Settles as said above; marked handled, so that a wait nobody awaits never crashes the process. */
  readonly promise: Promise<void>;
  readonly #link: Link;
  readonly #timeoutMs: number;
  readonly #timedOut: (error: TimeoutError) => void;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #timer: NodeJS.Timeout | undefined;
  #settled = false;
  // What the link had received when the timer was last armed.
  #receivedAtArm = 0;

  /** `timedOut` hears of the timeout (the member closes) after `promise` rejected with it. */
  constructor(link: Link, timeoutMs: number, timedOut: (error: TimeoutError) => void) {
    this.#link = link;
    this.#timeoutMs = timeoutMs;
    this.#timedOut = timedOut;
    this.promise = handled(
      new Promise<void>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      }),
    );
    this.#timer = setTimeout(() => this.#expire(), timeoutMs);
  }

  /** The snapshot is there. */
  done(): void {
    if (this.#settle()) this.#resolve();
  }

  /** The link closed before the snapshot came. */
  fail(error: Error): void {
    if (this.#settle()) this.#reject(error);
  }

  // Whether this settles the wait now (the first time); the timer stops either way.
  #settle(): boolean {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.#settled) return;
    const received = this.#link.bytesReceived;
    if (received !== undefined && received !== this.#receivedAtArm) {
      this.#receivedAtArm = received;
      this.#timer = setTimeout(() => this.#expire(), this.#timeoutMs);
      return;
    }
    const error = new TimeoutError(
      `no collective hub answered within ${this.#timeoutMs} ms: start one in the primary with collective.cluster() ` +
        '(or attach this thread to a hub)',
    );
    this.fail(error);
    this.#timedOut(error);
  }
}
