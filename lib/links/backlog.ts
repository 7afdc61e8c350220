import { DEFAULTS } from '../defaults.js';
import type { Socket } from 'node:net';

/** Limits of a backlog guard. */
export interface BacklogOptions {
  /** Bytes that may wait to be written. @default 67108864 (64 MiB) */
  maxBacklogBytes?: number;
  /** How long the backlog may stay over the limit. @default 2000 */
  lagGraceMs?: number;
}

/**
 * Decides when the other side of a socket is too far behind to keep buffering for. A reader
 * that stopped (a stuck worker, a slow or paused peer) must not make this process buffer
 * without bound; but a big message (a snapshot) or a burst can go over the limit for a moment
 * while the reader is fine. So the verdict is "over the limit for the whole grace period",
 * checked each time something is written.
 */
export class BacklogGuard {
  readonly maxBacklogBytes: number;
  readonly lagGraceMs: number;
  #overSince: number | undefined;

  constructor(options: BacklogOptions = {}) {
    this.maxBacklogBytes = options.maxBacklogBytes ?? DEFAULTS.maxPeerBacklog;
    this.lagGraceMs = options.lagGraceMs ?? DEFAULTS.lagGraceMs;
  }

  /** After a write: undefined while fine, else why the link should give up. */
  check(socket: Socket): string | undefined {
    if (socket.writableLength <= this.maxBacklogBytes) {
      this.#overSince = undefined;
      return undefined;
    }
    const now = Date.now();
    this.#overSince ??= now;
    const over = now - this.#overSince;
    if (over < this.lagGraceMs) return undefined;
    return `over ${this.maxBacklogBytes} bytes queued for ${over} ms: the other side is too far behind`;
  }
}
