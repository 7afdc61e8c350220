// Core benchmarks: reads and applies on a 100k-key tree of depth 3, next to a plain object
// walk measured in the same run. Run with `npm run bench` (it builds dist/ first). A string path
// read often is kept with its value while the tree does not change (core/read-cache.ts): the
// hot rows measure that, the random rows a split and a walk of the tree.
import { Replica } from '../../dist/esm/core/replica.js';
import { compare, depth3Paths, rate, median, shuffle, table } from './harness.mjs';

export function runCoreBench() {
  const paths = depth3Paths();
  // Both key lists are allocated in key order and read through the same shuffle. (Splitting
  // after shuffling would lay the baseline's arrays out in reading order, a cache locality
  // that no program holding its keys elsewhere gets, and that flattered the baseline ~4x.)
  const splitInKeyOrder = paths.map((path) => path.split('.'));
  const permutation = shuffle(paths.map((_, i) => i));
  const order = permutation.map((i) => paths[i]);
  const split = permutation.map((i) => splitInKeyOrder[i]);

  // The baseline: the same data as a plain nested object, walked with pre-split keys.
  const plain = {};
  for (const keys of split) {
    let node = plain;
    for (let i = 0; i < keys.length - 1; i++) node = node[keys[i]] ??= {};
    node[keys[keys.length - 1]] = keys.length;
  }

  const writer = new Replica({ id: 'writer' });
  const buildOps = paths.map((path, i) => writer.set(path, i));
  // Batches of 100k as another hub streams them: to keys of the tree, in random order.
  const setOps = order.map((path, i) => writer.set(path, -i));
  const incrOps = order.map((path) => writer.incr(path, 1));
  const setOpsInKeyOrder = paths.map((path, i) => writer.set(path, i * 2));
  const incrOpsInKeyOrder = paths.map((path) => writer.incr(path, 1));

  // Apply: a hub receiving another hub's stream. Each round starts from a fresh 100k-key tree.
  const applyBuild = [];
  const applySets = [];
  const applyIncrs = [];
  const applySetsInKeyOrder = [];
  const applyIncrsInKeyOrder = [];
  const timed = (replica, ops) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops.length; i++) replica.apply(ops[i]);
    return (ops.length / Number(process.hrtime.bigint() - start)) * 1e9;
  };
  // The memory-bound floor of a random-order batch: plain nested assignments in the same order.
  const plainWrites = [];
  const writePlain = (target, keyLists) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < keyLists.length; i++) {
      const keys = keyLists[i];
      target[keys[0]][keys[1]][keys[2]] = i;
    }
    return (keyLists.length / Number(process.hrtime.bigint() - start)) * 1e9;
  };
  for (let round = 0; round < 5; round++) {
    const target = {};
    for (const keys of splitInKeyOrder) ((target[keys[0]] ??= {})[keys[1]] ??= {})[keys[2]] = 0;
    plainWrites.push(writePlain(target, split));
    const replica = new Replica({ id: 'reader' });
    applyBuild.push(timed(replica, buildOps));
    applySets.push(timed(replica, setOps));
    applyIncrs.push(timed(replica, incrOps));
    applySetsInKeyOrder.push(timed(replica, setOpsInKeyOrder));
    applyIncrsInKeyOrder.push(timed(replica, incrOpsInKeyOrder));
  }

  const reader = new Replica({ id: 'reader' });
  for (const op of buildOps) reader.apply(op);
  let sink = 0;
  const plainWalk = (keyLists) => () => {
    for (let i = 0; i < keyLists.length; i++) {
      const keys = keyLists[i];
      let node = plain;
      for (let k = 0; k < keys.length; k++) node = node[keys[k]];
      sink += node === undefined ? 0 : 1;
    }
  };
  // One function literal per kind of path: V8 keeps type feedback per literal, and a user's
  // call site sees one kind of path, not both.
  const getStrings = (list) => () => {
    for (let i = 0; i < list.length; i++) sink += reader.get(list[i]) === undefined ? 0 : 1;
  };
  const getArrays = (list) => () => {
    for (let i = 0; i < list.length; i++) sink += reader.get(list[i]) === undefined ? 0 : 1;
  };
  // The same key sequence for a get and its baseline; frozen arrays skip the path cache.
  const hot = order.slice(0, 1000);
  const hotSplit = split.slice(0, 1000);
  const frozenInKeyOrder = splitInKeyOrder.map((keys) => Object.freeze(keys.slice()));
  const frozenSplit = permutation.map((i) => frozenInKeyOrder[i]);
  const readCases = () =>
    compare({
      plainAll: { fn: plainWalk(split), ops: split.length },
      getStringAll: { fn: getStrings(order), ops: order.length },
      getArrayAll: { fn: getArrays(frozenSplit), ops: frozenSplit.length },
      plainHot: { fn: plainWalk(hotSplit), ops: hot.length },
      getStringHot: { fn: getStrings(hot), ops: hot.length },
    });
  const live = readCases();
  reader.collect(reader.frontier().clock); // GC folds the trie into plain frozen objects
  const folded = readCases();

  const localSets = median(
    [0, 1, 2].map(() => {
      const local = new Replica({ id: 'local' });
      return rate(() => {
        for (let i = 0; i < 10_000; i++) local.set(order[i], i);
      }, 10_000);
    }),
  );
  if (sink === 42) console.log('');

  const results = {
    live,
    folded,
    applyBuild: median(applyBuild),
    applySets: median(applySets),
    applyIncrs: median(applyIncrs),
    plainRandomWrites: median(plainWrites),
    applySetsInKeyOrder: median(applySetsInKeyOrder),
    applyIncrsInKeyOrder: median(applyIncrsInKeyOrder),
    localSets,
  };
  const reads = (label, r) => [
    [`get '${label}': string paths, all keys, random`, r.getStringAll, 'plain walk, pre-split keys', r.plainAll, '>= 0.5x'],
    [`get '${label}': array paths, all keys, random`, r.getArrayAll, 'plain walk, pre-split keys', r.plainAll, '>= 0.5x'],
    [`get '${label}': string paths, 1k hot keys`, r.getStringHot, 'plain walk, same 1k keys', r.plainHot, '>= 0.5x'],
  ];
  table(`core: ${paths.length} keys, depth 3`, [
    ...reads('recent writes (trie)', live),
    ...reads('after GC folded the trie', folded),
    ['apply a batch of 100k sets, key order', results.applySetsInKeyOrder, undefined, undefined, '>= 1M ops/s'],
    ['apply a batch of 100k incrs, key order', results.applyIncrsInKeyOrder, undefined, undefined, '>= 1M ops/s'],
    ['apply a batch of 100k sets, random order', results.applySets, 'plain nested writes, same order', results.plainRandomWrites, '>= 1M ops/s'],
    ['apply a batch of 100k incrs, random order', results.applyIncrs, 'plain nested writes, same order', results.plainRandomWrites, '>= 1M ops/s'],
    ['apply 100k sets building the tree from empty', results.applyBuild],
    ['local set (validate + stamp + apply)', results.localSets],
  ]);
  return results;
}
