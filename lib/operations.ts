import { describe, inputTypeError } from './errors.js';
import type { SetOptions } from './core/write-options.js';

/**
 * collective.js's write operations, for the seed's `set(key, value, operation)`:
 * `set('hits', 5, OPERATIONS.INCREMENT)` adds 5, `set('a', null, OPERATIONS.DELETE)` deletes.
 */
export const OPERATIONS = Object.freeze({ SET: 0, INCREMENT: 1, DELETE: 2 } as const);

/** One of `OPERATIONS`. */
export type Operation = (typeof OPERATIONS)[keyof typeof OPERATIONS];

/**
 * The write a seed-style `set(key, value, operation)` stands for. `true` is collective.js
 * 0.1's "add instead of replace" flag, the same as `OPERATIONS.INCREMENT`. Anything else is a
 * TypeError with code `ERR_COLLECTIVE_INVALID_OPTION`.
 */
export function seedOperation(operation: unknown): 'set' | 'incr' | 'delete' {
  switch (operation) {
    case undefined:
    case OPERATIONS.SET:
      return 'set';
    case OPERATIONS.INCREMENT:
    case true:
      return 'incr';
    case OPERATIONS.DELETE:
      return 'delete';
    default:
      throw inputTypeError(
        'ERR_COLLECTIVE_INVALID_OPTION',
        `Expected the operation to be one of OPERATIONS (SET 0, INCREMENT 1, DELETE 2) or options ({ ttl, keepTtl }), got ${describe(operation)}`,
      );
  }
}

/**
 * What the third argument of `set` asks: collective.js's operation (`OPERATIONS`, or `true`),
 * or this library's options (`{ ttl, keepTtl }`, checked by the store).
 */
export function setArguments(third: unknown): { kind: 'set' | 'incr' | 'delete'; options?: SetOptions } {
  if (typeof third === 'object' && third !== null && !Array.isArray(third)) return { kind: 'set', options: third as SetOptions };
  return { kind: seedOperation(third) };
}

/** The option of a write (and of `flush`) that waits for the disk. */
export interface DurableOption {
  /**
   * Resolve once the write (for `flush`: every write so far) is fsynced to the hub's `persist`
   * directory; from a worker or thread, to its hub's. Rejects with ERR_COLLECTIVE_NOT_PERSISTENT
   * where the hub has no `persist`.
   * @default false
   */
  durable?: boolean;
}

/** Whether write options ask for `durable` (checked: a boolean, else a TypeError with a code). */
export function wantsDurable(options: unknown): boolean {
  if (typeof options !== 'object' || options === null) return false;
  const { durable } = options as DurableOption;
  if (durable === undefined) return false;
  if (typeof durable !== 'boolean') throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected \`durable\` to be a boolean, got ${describe(durable)}`);
  return durable;
}
