// A message in parts is written for this long per turn of the event loop, at most.
const PARTS_TURN_MS = 8;

/**
 * What a link gives its PartsSender: how to write, and whether the transport is full. `Whole`
 * is how the link holds a whole message (its JSON text, or its encoded frames).
 */
export interface PartsTransport<Whole = string> {
  /** Writes one part of the message going out in parts. */
  part(text: string): void;
  /** Ends that message. */
  end(): void;
  /** Writes a whole message that waited behind it. */
  whole(message: Whole): void;
  /**
   * Whether the transport holds enough for now: then `resume` is called once it takes more.
   * Transports that cannot tell say false (the turn limit alone paces them).
   */
  full(resume: () => void): boolean;
  /** Whether the link is gone (nothing more is written). */
  gone(): boolean;
}

/**
 * Sends messages whose JSON text comes in parts (Link.sendInParts) over a link: a few
 * milliseconds of parts per turn, while the transport takes them; what the link sends
 * meanwhile waits behind, in order, and goes out after the message's end. One per link.
 */
export class PartsSender<Whole = string> {
  readonly #transport: PartsTransport<Whole>;
  #parts: Iterator<string> | undefined;
  // Whole messages with their size, and messages in parts, in the order they were sent.
  readonly #waiting: ([Whole, number] | Iterator<string>)[] = [];
  #waitingBytes = 0;

  constructor(transport: PartsTransport<Whole>) {
    this.#transport = transport;
  }

  /**
   * Whether a message is going out in parts, or what waited behind one is still going out: what
   * is sent now must wait (see `wait`), to keep the order.
   */
  get busy(): boolean {
    return this.#parts !== undefined || this.#waiting.length > 0;
  }

  /** Bytes of whole messages waiting behind the one in parts. */
  get waitingBytes(): number {
    return this.#waitingBytes;
  }

  /** Starts sending `parts`, or queues them behind what is going out. */
  send(parts: Iterator<string>): void {
    if (this.busy) {
      this.#waiting.push(parts);
      return;
    }
    this.#parts = parts;
    this.#pump();
  }

  /** Queues a whole message (of `bytes` bytes) behind the one going out in parts. */
  wait(message: Whole, bytes: number): void {
    this.#waiting.push([message, bytes]);
    this.#waitingBytes += bytes;
  }

  // Writes for a few milliseconds, or until the transport is full (then again when it takes
  // more): the parts of the message going out, then what waited behind it, paced the same way
  // (a snapshot that took seconds has seconds of writes behind it: written at once, they would
  // stop the event loop in turn), until another message in parts.
  #pump = (): void => {
    const transport = this.#transport;
    const started = Date.now();
    while (this.busy) {
      if (transport.gone()) {
        this.close();
        return;
      }
      if (transport.full(this.#pump)) return;
      if (Date.now() - started >= PARTS_TURN_MS) {
        setImmediate(this.#pump);
        return;
      }
      if (this.#parts !== undefined) {
        const next = this.#parts.next();
        if (next.done !== true) transport.part(next.value);
        else {
          transport.end();
          this.#parts = undefined;
        }
        continue;
      }
      const message = this.#waiting.shift()!;
      if (!Array.isArray(message)) this.#parts = message;
      else {
        this.#waitingBytes -= message[1];
        transport.whole(message[0]);
      }
    }
  };

  /**
   * The link closed: the messages in parts are told they will not be taken further (`return`:
   * a snapshot's parts then end what it reads), and nothing waits any more.
   */
  close(): void {
    const parts = this.#parts;
    this.#parts = undefined;
    parts?.return?.();
    for (const message of this.#waiting.splice(0)) if (!Array.isArray(message)) message.return?.();
    this.#waitingBytes = 0;
  }
}

/**
 * The parts of `parts`, then `done()`: once the last was taken, or once the link says it takes
 * no more (`return`, see PartsSender.close), begun or not (a generator's `finally` runs only
 * once it began). A snapshot's readings end so.
 */
export function partsThen(parts: Iterator<string>, done: (() => void) | undefined): Iterator<string> {
  let called = false;
  const finish = (): void => {
    if (called) return;
    called = true;
    done?.();
  };
  return {
    next() {
      const next = parts.next();
      if (next.done === true) finish();
      return next;
    },
    return() {
      parts.return?.();
      finish();
      return { done: true, value: undefined };
    },
  };
}
