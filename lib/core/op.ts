import type { Stamp } from './clock.js';
import type { Segments } from './path.js';
import type { JsonValue } from './value.js';

/** What an operation does at its path. */
export type OpKind = 'set' | 'delete' | 'incr' | 'append';

/**
 * One replicated write. `stamp` orders it against every other write; `stamp.node` is the hub
 * that stamped it (its origin) and `seq` its position in that origin's contiguous sequence.
 * `value` is the new value for `set`, the amount for `incr` and the element for `append`;
 * absent for `delete`. Ops are immutable once made.
 */
export interface Op {
  readonly kind: OpKind;
  readonly path: Segments;
  readonly value?: JsonValue;
  readonly seq: number;
  readonly stamp: Stamp;
}
