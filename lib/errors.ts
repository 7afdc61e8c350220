/**
 * Every error collective raises on its own account carries a stable `code`, so callers can
 * branch on `err.code` instead of parsing messages. Bad arguments are the standard
 * `TypeError` / `RangeError` (with a `code` as well), because that is what JavaScript callers
 * already expect from a function handed the wrong thing.
 */

/** The stable codes of collective's errors; the README lists what each one means. */
export type CollectiveErrorCode =
  | 'ERR_COLLECTIVE_NOT_READY'
  | 'ERR_COLLECTIVE_CLOSED'
  | 'ERR_COLLECTIVE_PROTOCOL'
  | 'ERR_COLLECTIVE_AUTH'
  | 'ERR_COLLECTIVE_TIMEOUT';

/** The codes carried by the `TypeError` / `RangeError` thrown for bad arguments. */
export type CollectiveInputErrorCode =
  | 'ERR_COLLECTIVE_INVALID_PATH'
  | 'ERR_COLLECTIVE_INVALID_VALUE'
  | 'ERR_COLLECTIVE_VALUE_TOO_LARGE'
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

/** A peer or member broke the protocol; the connection was dropped. */
export class ProtocolError extends CollectiveError {
  constructor(message: string) {
    super('ERR_COLLECTIVE_PROTOCOL', message);
    this.name = 'ProtocolError';
  }
}

/** A peer failed authentication. */
export class AuthError extends CollectiveError {
  constructor(message: string) {
    super('ERR_COLLECTIVE_AUTH', message);
    this.name = 'AuthError';
  }
}

/** Something collective waited for did not happen in time. */
export class TimeoutError extends CollectiveError {
  constructor(message: string) {
    super('ERR_COLLECTIVE_TIMEOUT', message);
    this.name = 'TimeoutError';
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
