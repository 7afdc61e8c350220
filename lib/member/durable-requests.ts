import { ClosedError, PersistError, handled } from '../errors.js';
import type { DurableAnswer } from '../wire/member.js';

interface Request {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function newRequest(): Request {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = handled(
    new Promise<void>((yes, no) => {
      resolve = yes;
      reject = no;
    }),
  );
  return { promise, resolve, reject };
}

/**
 * A member's waits for its hub's disk (`{ durable: true }`): every durable write and
 * `flush({ durable: true })` of one turn share one request, sent after the turn's writes (the
 * hub answers once everything before it is fsynced), instead of a message and a promise each.
 */
export class DurableRequests {
  // The request of this turn, not sent yet.
  #turn: Request | undefined;
  // Sent, by number, waiting for the hub's answer.
  readonly #sent = new Map<number, Request>();
  #next = 1;

  /** How many requests wait for an answer or to be sent. */
  get size(): number {
    return this.#sent.size + (this.#turn === undefined ? 0 : 1);
  }

  /** Resolves once the hub has on disk every write sent up to the end of this turn. */
  request(): Promise<void> {
    return (this.#turn ??= newRequest()).promise;
  }

  /** The number of this turn's request, to send after the turn's writes, if there is one. */
  take(): number | undefined {
    const turn = this.#turn;
    if (turn === undefined) return undefined;
    this.#turn = undefined;
    const number = this.#next++;
    this.#sent.set(number, turn);
    return number;
  }

  /** The hub answered request `d`: on disk, or why not. */
  answer(answer: DurableAnswer): void {
    const request = this.#sent.get(answer.d);
    if (request === undefined) return;
    this.#sent.delete(answer.d);
    if (answer.e === undefined) request.resolve();
    else if (answer.e === 'ERR_COLLECTIVE_CLOSED') request.reject(new ClosedError('the hub closed before the writes were on disk'));
    else {
      const why = answer.e === 'ERR_COLLECTIVE_NOT_PERSISTENT' ? 'the hub has no `persist`: a durable write needs one' : 'the hub could not write its disk';
      request.reject(new PersistError(answer.e, why));
    }
  }

  /** The link to the hub is gone: nothing will be answered. */
  rejectAll(error: Error): void {
    this.#turn?.reject(error);
    this.#turn = undefined;
    for (const request of this.#sent.values()) request.reject(error);
    this.#sent.clear();
  }
}
