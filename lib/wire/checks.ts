/** Shape checks shared by the wire guards (member, peer and served-member messages). */

/** Whether `value` is an object that is not an array (a message, or a record inside one). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is a safe integer of at least `min`: an id, a count, a position. */
export function isCount(value: unknown, min = 0): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}
