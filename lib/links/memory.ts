import { logger } from '../log.js';
import { BaseLink } from './link.js';

const log = logger('memory');

/**
 * An in-process link, for tests of the roles: messages are delivered asynchronously and
 * through JSON, as a real transport would (no shared references, no synchronous re-entry).
 */
export class MemoryLink extends BaseLink {
  readonly label: string;
  #peer: MemoryLink | undefined;

  private constructor(label: string) {
    super();
    this.label = label;
  }

  /** Two connected ends. */
  static pair(label = 'memory'): [MemoryLink, MemoryLink] {
    const a = new MemoryLink(`${label}:a`);
    const b = new MemoryLink(`${label}:b`);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  send(message: object): boolean {
    const peer = this.#peer;
    if (this.closed || peer === undefined) return false;
    const text = this.encode(message, log);
    if (text === undefined) return false;
    return this.sendEncoded(text);
  }

  /** Sends a message already encoded as JSON text. */
  sendEncoded(json: string): boolean {
    const peer = this.#peer;
    if (this.closed || peer === undefined) return false;
    setImmediate(() => peer.deliver(JSON.parse(json), json));
    return true;
  }

  protected release(): void {
    const peer = this.#peer;
    this.#peer = undefined;
    if (peer !== undefined) setImmediate(() => peer.close());
  }
}
