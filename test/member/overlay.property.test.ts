import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { ABSENT } from '../../lib/core/node.js';
import type { Op } from '../../lib/core/op.js';
import { ReplicatedTree } from '../../lib/core/tree.js';
import { overlay, type ReplayedWrite } from '../../lib/member/overlay.js';
import { opSpecArb, pathArb, stampOps } from '../helpers/arbitraries.js';
import { oracleState } from '../helpers/oracle.js';

const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000);

// What a member reads while its own writes are on their way: the confirmed state with them
// replayed on top. The hub will order them after everything the member has seen, so the
// oracle is the replay of the confirmed ops, then the pending ones, by stamp.
function readAt(state: unknown, path: readonly string[]): unknown {
  let value = state;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

describe('a member’s overlay of its pending writes, against the oracle', () => {
  it('reads, at any path, what the hub will hold once it applies the pending writes', () => {
    fc.assert(
      fc.property(fc.array(opSpecArb, { maxLength: 20 }), fc.array(opSpecArb, { minLength: 1, maxLength: 8 }), pathArb, (confirmedSpecs, pendingSpecs, path) => {
        const confirmed = stampOps(confirmedSpecs);
        const tree = new ReplicatedTree();
        for (const op of confirmed) tree.apply(op);
        // The pending writes, stamped after everything confirmed, in the order they were made.
        const pending: Op[] = stampOps(pendingSpecs.map((spec) => ({ ...spec, node: 'member' }))).map((op, i) => ({
          ...op,
          stamp: { wall: 1000 + i, count: 0, node: 'member' as NodeId },
        }));
        const read = overlay((p) => tree.get(p), path, pending as ReplayedWrite[]);
        const expected = readAt(oracleState([...confirmed, ...pending]), path);
        expect(read === ABSENT ? undefined : read).toEqual(expected);
        // And the whole tree, as `get()` with no path reads it.
        const all = overlay((p) => (p.length === 0 ? tree.getAll() : tree.get(p)), [], pending as ReplayedWrite[]);
        expect(all).toEqual(oracleState([...confirmed, ...pending]));
      }),
      { numRuns: runs },
    );
  });
});
