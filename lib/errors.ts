/**
 * Every error collective raises on its own account carries a stable `code`, so callers can
 * branch on `err.code` instead of parsing messages. Bad arguments are the standard
 * `TypeError` / `RangeError` (with a `code` as well), because that is what JavaScript callers
 * already expect from a function handed the wrong thing.
 */

/**
 * Why a link (to a peer hub, or to a member) was refused or dropped. Every close reason
 * carries one, so that code and tests branch on the code, never on the message, and
 * `stats().rejections` counts them. The README lists what each one means.
 */
export type LinkErrorCode =
  /** A message broke the protocol: malformed, unexpected, or not allowed at that point. */
  | 'ERR_COLLECTIVE_PROTOCOL'
  /** The peer failed the challenge-response: it does not know the secret. */
  | 'ERR_COLLECTIVE_AUTH'
  /** One side has a `secret` and the other has none. */
  | 'ERR_COLLECTIVE_AUTH_MISMATCH'
  /** The peer's clock differs from this hub's by more than `maxClockSkewMs`. */
  | 'ERR_COLLECTIVE_CLOCK_SKEW'
  /** The peer speaks another version of the protocol. */
  | 'ERR_COLLECTIVE_PROTOCOL_VERSION'
  /** What connected is not a collective hub at all (HTTP, TLS on a plain port, garbage). */
  | 'ERR_COLLECTIVE_NOT_A_PEER'
  /** A frame longer than `maxFrameBytes`, or a message longer than 500 MiB. */
  | 'ERR_COLLECTIVE_FRAME_TOO_LARGE'
  /** A frame with a malformed type. */
  | 'ERR_COLLECTIVE_FRAME_TYPE'
  /** A frame whose payload is not JSON. */
  | 'ERR_COLLECTIVE_FRAME_JSON'
  /** The connection did not complete its handshake within `handshakeTimeoutMs`. */
  | 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT'
  /** A hub dialed itself (its own address in `peers`): not an error, and not counted. */
  | 'ERR_COLLECTIVE_SELF_CONNECT'
  /** A second address of a peer this hub already streams to: dropped quietly, never reported. */
  | 'ERR_COLLECTIVE_DUPLICATE_ROUTE'
  /** The peer started again with its state: the link to its life before is dropped, never reported. */
  | 'ERR_COLLECTIVE_PEER_RESTARTED'
  /** Nothing arrived for three heartbeats: the link is cut or the peer is stuck. */
  | 'ERR_COLLECTIVE_PEER_SILENT'
  /** The other side stopped reading and its backlog stayed over the limit. */
  | 'ERR_COLLECTIVE_PEER_LAGGING'
  /** The peer could not be reached (refused, no route, unknown host, reset while connecting). */
  | 'ERR_COLLECTIVE_PEER_UNREACHABLE'
  /** The TLS handshake failed (a certificate the `ca` does not trust, TLS on one side only). */
  | 'ERR_COLLECTIVE_TLS'
  /** The peer sent an op stamped below what this hub's group folded (see README, Semantics). */
  | 'ERR_COLLECTIVE_BELOW_HORIZON';

/** The stable codes of collective's errors; the README lists what each one means. */
export type CollectiveErrorCode =
  | 'ERR_COLLECTIVE_NOT_READY'
  | 'ERR_COLLECTIVE_CLOSED'
  | 'ERR_COLLECTIVE_TIMEOUT'
  /** The `redis` option is used and the `redis` package is not installed. */
  | 'ERR_COLLECTIVE_REDIS_MISSING'
  /** Another live hub of the Redis group runs under this hub's `redis.name`. */
  | 'ERR_COLLECTIVE_REDIS_NAME_IN_USE'
  | PersistErrorCode
  | LinkErrorCode;

/** The codes of the errors of `persist` (a hub's store on disk). */
export type PersistErrorCode =
  /** Another live hub holds the `persist.dir` (its lock file names the process). */
  | 'ERR_COLLECTIVE_PERSIST_LOCKED'
  /** The snapshot in `persist.dir` is corrupt or not collective's: the hub refuses to start. */
  | 'ERR_COLLECTIVE_PERSIST_CORRUPT'
  /** Reading or writing `persist.dir` failed (permissions, disk full, not a directory). */
  | 'ERR_COLLECTIVE_PERSIST_IO'
  /** `{ durable: true }` asked of a hub (or of a member's hub) that has no `persist`. */
  | 'ERR_COLLECTIVE_NOT_PERSISTENT';

/** The codes carried by the `TypeError` / `RangeError` thrown for bad arguments. */
export type CollectiveInputErrorCode =
  | 'ERR_COLLECTIVE_INVALID_PATH'
  | 'ERR_COLLECTIVE_INVALID_VALUE'
  | 'ERR_COLLECTIVE_VALUE_TOO_LARGE'
  | 'ERR_COLLECTIVE_INVALID_TTL'
  | 'ERR_COLLECTIVE_INVALID_OPTION';

/** Base class of collective's own errors. */
export class CollectiveError extends Error {
  /** Stable machine-readable code, e.g. `ERR_COLLECTIVE_CLOSED`. */
  readonly code: CollectiveErrorCode;

  constructor(code: CollectiveErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CollectiveError';
    this.code = code;
  }
}

/** A store was used after `close()`. */
export class ClosedError extends CollectiveError {
  constructor(message = 'the collective store is closed') {
    super('ERR_COLLECTIVE_CLOSED', message);
    this.name = 'ClosedError';
  }
}

/** A member was read before it received its hub's snapshot. */
export class NotReadyError extends CollectiveError {
  constructor(message = 'the collective member is not ready: await collective.ready() first') {
    super('ERR_COLLECTIVE_NOT_READY', message);
    this.name = 'NotReadyError';
  }
}

/**
 * A link was refused or dropped because of what the other side sent or did: the reason a link
 * closes with. Its `code` says which rule was broken (`ERR_COLLECTIVE_PROTOCOL` by default).
 */
export class ProtocolError extends CollectiveError {
  declare readonly code: LinkErrorCode;

  constructor(message: string, code: LinkErrorCode = 'ERR_COLLECTIVE_PROTOCOL', options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProtocolError';
  }
}

/** A peer failed authentication (`ERR_COLLECTIVE_AUTH`), or only one side has a secret (`ERR_COLLECTIVE_AUTH_MISMATCH`). */
export class AuthError extends ProtocolError {
  constructor(message: string, code: 'ERR_COLLECTIVE_AUTH' | 'ERR_COLLECTIVE_AUTH_MISMATCH' = 'ERR_COLLECTIVE_AUTH') {
    super(message, code);
    this.name = 'AuthError';
  }
}

/** Something collective waited for did not happen in time. */
export class TimeoutError extends CollectiveError {
  constructor(message: string, code: 'ERR_COLLECTIVE_TIMEOUT' | 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT' = 'ERR_COLLECTIVE_TIMEOUT') {
    super(code, message);
    this.name = 'TimeoutError';
  }
}

/**
 * A link to a peer hub was refused or failed, as the hub's `peer:error` event reports it (and,
 * with nobody listening, a process warning): the reason's `code`, the peer's `address`
 * (`host:port`) and its node id when the handshake got that far. The reason itself is `cause`.
 */
export class PeerError extends CollectiveError {
  /** The peer's address, `host:port` (for a peer that dialed in: where it dialed from, or its listening port once told). */
  readonly address: string;
  /** The peer's node id, if it said it. */
  readonly peer: string | undefined;

  constructor(code: CollectiveErrorCode, message: string, address: string, peer: string | undefined, cause?: unknown) {
    super(code, message, { cause });
    this.name = 'PeerError';
    this.address = address;
    this.peer = peer;
  }
}

/** The code a link's close reason carries: its own for collective's errors, else `undefined`. */
export function reasonCode(reason: Error | undefined): CollectiveErrorCode | undefined {
  return reason instanceof CollectiveError ? reason.code : undefined;
}

/** An error of `persist`: a directory held, corrupt or unusable, or durability not there. */
export class PersistError extends CollectiveError {
  declare readonly code: PersistErrorCode;

  constructor(code: PersistErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PersistError';
  }
}

/** A `TypeError` with a stable `code`, thrown synchronously for a bad argument. */
export function inputTypeError(code: CollectiveInputErrorCode, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

/** A `RangeError` with a stable `code`, thrown synchronously for an argument out of bounds. */
export function inputRangeError(code: CollectiveInputErrorCode, message: string): RangeError {
  return Object.assign(new RangeError(message), { code });
}

/** Renders a received value for an error message: `` `-1` (number) ``, never a huge dump. */
export function describe(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = `[function ${value.name || 'anonymous'}]`;
  else if (typeof value === 'symbol') text = value.toString();
  else if (value === null || typeof value !== 'object') text = String(value);
  else if (Array.isArray(value)) text = `[array of ${value.length}]`;
  else text = `[object ${value.constructor?.name ?? 'null-prototype'}]`;
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${text}\` (${type})`;
}

/**
 * Marks a promise handled and returns it: one that nobody awaits (an un-awaited write whose
 * hub went away) must never become an unhandled rejection and crash the process, while whoever
 * awaits it still sees the rejection.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
