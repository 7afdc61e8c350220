import { describe, expect, it } from 'vitest';
import { CEILING_NODE } from '../../lib/core/clock.js';
import { ReplicatedTree } from '../../lib/core/tree.js';
import type { JsonValue } from '../../lib/core/value.js';

// A snapshot encoded over several turns reads a parent of many keys in place (and the expiry
// times of its folded kids): every fold tells its readings what it replaces, until the snapshot
// says it was written (Exported.readings.end()). Ended, they are told nothing more.

const at = (wall: number) => ({ wall, count: 0, node: CEILING_NODE });
const HOUR = 3_600_000;

function sessions(count: number): ReplicatedTree {
  const tree = new ReplicatedTree();
  for (let i = 0; i < count; i++) tree.applyFinal({ kind: 'set', path: ['sessions', `s${i}`], value: { n: i }, expireAt: 1000 + HOUR + i }, 1000);
  tree.collect(at(2000));
  return tree;
}

// The snapshot's value and expiry times, as its text gives them.
function read(exported: ReturnType<ReplicatedTree['export']>): { value: Record<string, JsonValue>; times: Map<string, number> } {
  const value = JSON.parse(JSON.stringify(exported.value)) as { sessions: Record<string, JsonValue> };
  const times = new Map<string, number>();
  for (const folded of exported.armedFolded) for (const [key, time] of folded.times) times.set(key, time);
  return { value: value.sessions, times };
}

describe('the readings of a snapshot taken over several turns', () => {
  it('keep what the folds replace until the snapshot is written, and nothing after', () => {
    const tree = sessions(200);
    const exported = tree.export([], true);
    expect(exported.readings).toBeDefined();
    expect(exported.armedFolded).toHaveLength(1);
    // Folded while the snapshot is read: it still reads what it took.
    tree.applyFinal({ kind: 'set', path: ['sessions', 's0'], value: { n: -1 }, expireAt: 1000 + 2 * HOUR }, 3000);
    tree.collect(at(4000));
    let snapshot = read(exported);
    expect(snapshot.value.s0).toEqual({ n: 0 });
    expect(snapshot.times.get('s0')).toBe(1000 + HOUR);
    // Written: its readings keep nothing and are told nothing more (read again, they would show
    // the parent as it is now: no snapshot reads them after this).
    exported.readings!.end();
    tree.applyFinal({ kind: 'set', path: ['sessions', 's1'], value: { n: -2 }, expireAt: 1000 + 3 * HOUR }, 5000);
    tree.collect(at(6000));
    snapshot = read(exported);
    expect(snapshot.value.s1).toEqual({ n: -2 });
    expect(snapshot.times.get('s1')).toBe(1000 + 3 * HOUR);
    expect(snapshot.value.s0).toEqual({ n: -1 });
  });

  it('are none for a snapshot sent whole (read at once, nothing to end)', () => {
    const tree = sessions(200);
    expect(tree.export([], false).readings).toBeUndefined();
  });
});
