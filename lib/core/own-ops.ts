import { compareStamps, type NodeId, type Stamp } from './clock.js';
import { isOverwrite, touchesExpiry, type Op } from './op.js';
import { OpColumns } from './op-columns.js';

/**
 * A node's own live ops, sorted by stamp (see TreeNode.ops): a plain array of ops while they
 * are few, columns (OpColumns) once a node holds many.
 */
export type OwnOps = Op[] | OpColumns;

/**
 * How many own ops a node holds before they are kept as columns. Most nodes hold one or two
 * (a set replaces the ops before it); a counter or a list written often holds every write since
 * the last fold, a quarter of a second of them between linked hubs.
 */
export const COLUMNS_FROM = 32;

/**
 * From how many own ops a node keeps them as columns (COLUMNS_FROM): tests and the simulators
 * lower it, so that what they check runs through the columns too.
 * @internal
 */
export const ownOpsTuning = { columnsFrom: COLUMNS_FROM };

/** `ops` with `op` inserted at `index`: the same list, or columns once it holds COLUMNS_FROM. */
export function withOpAt(ops: Op[], index: number, op: Op): OwnOps {
  if (ops.length + 1 < ownOpsTuning.columnsFrom || touchesExpiry(op)) {
    if (index === ops.length) ops.push(op);
    else ops.splice(index, 0, op);
    return ops;
  }
  const columns = new OpColumns(ops);
  columns.insert(index, op);
  return columns;
}

/** Lets `ops` go: columns give their chunks back (see OpColumns.release). */
export function releaseOps(ops: OwnOps): void {
  if (!Array.isArray(ops)) ops.release();
}

/** The op at `index` of `ops`. */
export function opAt(ops: OwnOps, index: number): Op {
  return Array.isArray(ops) ? ops[index]! : ops.at(index);
}

/** Where an op stamped `stamp` goes in `ops`: after every op stamped before it. */
export function insertionIndex(ops: OwnOps, stamp: Stamp): number {
  if (!Array.isArray(ops)) return ops.insertionIndex(stamp);
  // A short list, where a late op lands near the end: from the end.
  let index = ops.length;
  while (index > 0 && compareStamps(ops[index - 1]!.stamp, stamp) > 0) index--;
  return index;
}

/** Whether `ops` hold a set or delete at `index` or after (an op stamped before it is wiped). */
export function overwritesFrom(ops: OwnOps, index: number): boolean {
  if (!Array.isArray(ops)) return ops.overwritesFrom(index);
  for (let i = index; i < ops.length; i++) if (isOverwrite(ops[i]!.kind)) return true;
  return false;
}

/**
 * Calls `each` with every origin of the first `count` of `ops` and the highest seq among its
 * ops there (what a fold notes as folded).
 */
export function eachHighestSeq(ops: OwnOps, count: number, each: (origin: NodeId, seq: number) => void): void {
  if (!Array.isArray(ops)) {
    ops.eachHighestSeq(count, each);
    return;
  }
  // A short list of ops comes in runs of one origin: `each` is called once per run.
  let origin: NodeId | undefined;
  let highest = 0;
  for (let i = 0; i < count; i++) {
    const op = ops[i]!;
    if (op.stamp.node !== origin) {
      if (origin !== undefined) each(origin, highest);
      origin = op.stamp.node;
      highest = op.seq;
    } else if (op.seq > highest) highest = op.seq;
  }
  if (origin !== undefined) each(origin, highest);
}
