import type { PeerError } from '../errors.js';

// A bound on the keys remembered, so that a stream of strangers cannot grow this set forever.
const MAX_KEYS = 1000;

/**
 * Makes a misconfiguration loud when the application does not listen for it: a `peer:error`
 * that no listener took becomes a process warning (`process.emitWarning`, type
 * `CollectiveWarning`, the error's code), the first time per peer and code only.
 */
export class PeerWarnings {
  readonly #given = new Set<string>();

  /** Warns about `error` unless it was given already for `peer` (an address, or a stranger's host). */
  warn(error: PeerError, peer: string): void {
    const key = `${error.code}|${peer}`;
    if (this.#given.has(key) || this.#given.size >= MAX_KEYS) return;
    this.#given.add(key);
    process.emitWarning(error.message, {
      type: 'CollectiveWarning',
      code: error.code,
      detail: "Given once per peer address and code. Listen to the hub's 'peer:error' event to handle these yourself.",
    });
  }
}
