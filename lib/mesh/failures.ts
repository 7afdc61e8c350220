import { CollectiveError, PeerError, type CollectiveErrorCode } from '../errors.js';

/** What the mesh knows of a link to a peer when it closes. */
export interface LinkContext {
  /** The peer's address, `host:port`. */
  readonly address: string;
  /** The peer's node id, once its hello told it. */
  readonly peer: string | undefined;
  /** Whether the connection was established (for TLS: the TLS handshake done). */
  readonly connected: boolean;
  /** Whether the link runs over TLS. */
  readonly tls: boolean;
}

// Errors of a dial that never reached the peer's process.
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EADDRNOTAVAIL', 'ECONNABORTED']);

/**
 * The failure a link's close reason stands for, as the `peer:error` a hub reports: collective's
 * own reasons keep their code; a socket error before the connection was established means the
 * peer was unreachable (or, under TLS, that the TLS handshake failed). Undefined for a link
 * closed on purpose, a hub that dialed itself or reached a peer it already has a link to, the
 * link to the life before of a peer that restarted with its state, or a
 * live link lost to a reset (`peer:down` tells that one).
 */
export function peerFailure(reason: Error | undefined, context: LinkContext): PeerError | undefined {
  if (reason === undefined) return undefined;
  const where = context.peer === undefined ? context.address : `${context.address} (${context.peer})`;
  if (reason instanceof CollectiveError) {
    if (reason.code === 'ERR_COLLECTIVE_SELF_CONNECT' || reason.code === 'ERR_COLLECTIVE_DUPLICATE_ROUTE' || reason.code === 'ERR_COLLECTIVE_PEER_RESTARTED') return undefined;
    return new PeerError(reason.code, `peer ${where}: ${reason.message}`, context.address, context.peer, reason);
  }
  if (context.connected) return undefined;
  const system = (reason as NodeJS.ErrnoException).code ?? '';
  if (context.tls && !UNREACHABLE.has(system)) {
    return new PeerError('ERR_COLLECTIVE_TLS', `peer ${where}: the TLS handshake failed: ${reason.message}`, context.address, context.peer, reason);
  }
  return new PeerError('ERR_COLLECTIVE_PEER_UNREACHABLE', `peer ${where} is unreachable: ${reason.message}`, context.address, context.peer, reason);
}

/** Links refused or dropped, by code, and the older per-kind counters derived from them. */
export class Rejections {
  readonly #byCode = new Map<CollectiveErrorCode, number>();

  count(code: CollectiveErrorCode): void {
    this.#byCode.set(code, (this.#byCode.get(code) ?? 0) + 1);
  }

  /** Every code counted so far, with its count. */
  byCode(): Partial<Record<CollectiveErrorCode, number>> {
    return Object.fromEntries(this.#byCode);
  }

  /** Links refused for failing authentication (a wrong secret, or a secret on one side only). */
  get authFailures(): number {
    return (this.#byCode.get('ERR_COLLECTIVE_AUTH') ?? 0) + (this.#byCode.get('ERR_COLLECTIVE_AUTH_MISMATCH') ?? 0);
  }

  /** Links dropped for not completing the handshake in time. */
  get handshakeTimeouts(): number {
    return this.#byCode.get('ERR_COLLECTIVE_HANDSHAKE_TIMEOUT') ?? 0;
  }

  /** Links dropped for what the other side sent: a bad frame, a protocol violation, a refused hello. */
  get rejectedFrames(): number {
    let total = 0;
    for (const [code, count] of this.#byCode) if (FRAME_CODES.has(code)) total += count;
    return total;
  }
}

const FRAME_CODES: ReadonlySet<CollectiveErrorCode> = new Set<CollectiveErrorCode>([
  'ERR_COLLECTIVE_PROTOCOL',
  'ERR_COLLECTIVE_PROTOCOL_VERSION',
  'ERR_COLLECTIVE_NOT_A_PEER',
  'ERR_COLLECTIVE_FRAME_TOO_LARGE',
  'ERR_COLLECTIVE_FRAME_TYPE',
  'ERR_COLLECTIVE_FRAME_JSON',
  'ERR_COLLECTIVE_CLOCK_SKEW',
  'ERR_COLLECTIVE_BELOW_HORIZON',
]);
