import type { OpKind } from '../core/op.js';
import type { FinalOp } from '../core/tree.js';
import { isPlainIntent, type OwnEntry, type StreamItem } from '../wire/member.js';
import type { ConfirmedTree } from './confirmed.js';
import type { PendingWrite, PendingWrites } from './pending.js';

/** What applying a stream message needs besides the trees: where a gap is told. */
export interface StreamTarget {
  readonly confirmed: ConfirmedTree;
  readonly pending: PendingWrites;
  /** The hub skipped `position` (an ordered, reliable link never does: a broken hub). */
  gap(position: number): void;
}

/**
 * Applies the items of a hub's stream message (from position `first`) to the confirmed tree.
 * The member's own writes come as their intent ids, and are applied from the pending writes:
 * as they are held, unless `items` is given, which collects every item, own writes included,
 * as items (for the member's own members). Returns the id of a write the hub named that this
 * member does not hold as a plain write (a broken hub), or undefined.
 */
export function applyStream(target: StreamTarget, first: number, entries: readonly (StreamItem | OwnEntry)[], items: StreamItem[] | undefined): number | undefined {
  const { confirmed } = target;
  let find: ((id: number) => PendingWrite | undefined) | undefined;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    if (typeof entry === 'object' && !Array.isArray(entry)) {
      if (!confirmed.apply(entry)) target.gap(entry.n);
      items?.push(entry);
      continue;
    }
    const position = first + index;
    if (position <= confirmed.position) continue; // already in the snapshot this member took
    const id = typeof entry === 'number' ? entry : entry[0];
    const write = (find ??= target.pending.finder())(id);
    if (write === undefined || !isPlainIntent(write)) return id;
    const time = typeof entry === 'number' ? undefined : entry[1];
    if (items === undefined) {
      // Nobody needs it as an item: applied as it is held (a plain write is a FinalOp).
      if (!confirmed.applyOwn(position, write as PendingWrite & FinalOp, time)) target.gap(position);
      continue;
    }
    const item: StreamItem = { k: write.kind as OpKind, p: write.path as string[], n: position, o: confirmed.hub, i: id };
    if (write.value !== undefined) item.v = write.value;
    if (time !== undefined) item.w = time;
    if (!confirmed.apply(item)) target.gap(position);
    items.push(item);
  }
  return undefined;
}
