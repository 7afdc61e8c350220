/** Shape checks shared by the wire guards (member, peer and served-member messages). */

// The core decodes snapshots and runs with the same check.
export { isRecord } from '../core/codec.js';

/** Whether `value` is a safe integer of at least `min`: an id, a count, a position. */
export function isCount(value: unknown, min = 0): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}
