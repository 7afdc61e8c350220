import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import type { TreeNode } from '../../lib/core/node.js';
import { FOLD_EVERY } from '../../lib/core/tree.js';
import { ConfirmedTree } from '../../lib/member/confirmed.js';

// What folds a replica that applies final writes (a member; a hub alone, by the same rule) is
// the nodes its writes made, not the count of writes (FOLD_EVERY): keys written again and again
// keep their nodes, and the nodes held stay bounded however many keys are written.

const HUB = 'hub' as NodeId;

// Every node of the tree, value-only ones included (metadata() counts those that hold more).
function nodes(node: TreeNode): number {
  let count = 1;
  if (node.kids !== undefined) for (const key in node.kids) count += nodes(node.kids[key]!);
  return count;
}

function member(): { tree: ConfirmedTree; set: (path: string[], value: number) => void } {
  const tree = new ConfirmedTree();
  tree.adopt({}, 0, [], HUB);
  let position = 0;
  return { tree, set: (path, value) => expect(tree.apply({ k: 'set', p: path, v: value, n: ++position, o: HUB })).toBe(true) };
}

describe('folding a replica that applies final writes', () => {
  it('keeps the nodes of keys a member writes again and again', () => {
    const { tree, set } = member();
    for (let i = 0; i < 3 * FOLD_EVERY; i++) set(['hot', `k${i % 100}`], i);
    // The root, `hot` and its 100 keys: made once, never folded and made again.
    expect(nodes(tree.tree.root)).toBe(102);
    expect(tree.metadata().ops).toBe(0);
    expect(tree.get(['hot', 'k99'])).toBe(3 * FOLD_EVERY - 1);
  });

  it('folds a member’s nodes once its writes made FOLD_EVERY of them', () => {
    const { tree, set } = member();
    let most = 0;
    for (let i = 0; i < 3 * FOLD_EVERY + 10; i++) {
      set(['cold', `k${i}`], i);
      if (i % 97 === 0) most = Math.max(most, nodes(tree.tree.root));
    }
    expect(most).toBeGreaterThan(FOLD_EVERY / 2);
    expect(most).toBeLessThanOrEqual(FOLD_EVERY + 2);
    expect(nodes(tree.tree.root)).toBeLessThan(20); // folded three times; the last few since
    expect(tree.get(['cold', 'k0'])).toBe(0);
    expect(tree.get(['cold', `k${3 * FOLD_EVERY + 9}`])).toBe(3 * FOLD_EVERY + 9);
  });
});
