// Reads in a member (a cluster worker's or a thread's replica of its hub): `get` with a string
// path on 101,614 keys of depth 3, next to a plain nested object walked with pre-split keys, in
// the same run. The member is served over an in-process link: its reads are the same code as a
// worker's, without a second process to start. A string path read often is kept with its value
// while nothing changes (core/read-cache.ts): the hot row measures that, the random row a split
// and a walk.
import { Collective } from '../../dist/esm/index.js';
import { MemoryLink } from '../../dist/esm/links/memory.js';
import { Member } from '../../dist/esm/member/member.js';
import { compare, depth3Paths, shuffle, table } from './harness.mjs';

export async function runMemberReadBench() {
  const paths = depth3Paths();
  // As in the core bench: both key lists allocated in key order, read through one shuffle.
  const splitInKeyOrder = paths.map((path) => path.split('.'));
  const permutation = shuffle(paths.map((_, i) => i), 11);
  const order = permutation.map((i) => paths[i]);
  const split = permutation.map((i) => splitInKeyOrder[i]);
  const plain = {};
  for (const keys of splitInKeyOrder) ((plain[keys[0]] ??= {})[keys[1]] ??= {})[keys[2]] = 3;

  const hub = new Collective();
  for (let i = 0; i < paths.length; i++) hub.set(paths[i], i);
  const [hubEnd, memberEnd] = MemoryLink.pair('bench');
  hub.attachMember(hubEnd);
  const member = new Member(memberEnd);
  await member.ready();

  let sink = 0;
  const plainWalk = (keyLists) => () => {
    for (let i = 0; i < keyLists.length; i++) {
      const keys = keyLists[i];
      let node = plain;
      for (let k = 0; k < keys.length; k++) node = node[keys[k]];
      sink += node === undefined ? 0 : 1;
    }
  };
  const getStrings = (list) => () => {
    for (let i = 0; i < list.length; i++) sink += member.get(list[i]) === undefined ? 0 : 1;
  };
  const hot = order.slice(0, 1000);
  const r = compare({
    plainAll: { fn: plainWalk(split), ops: split.length },
    getAll: { fn: getStrings(order), ops: order.length },
    plainHot: { fn: plainWalk(split.slice(0, 1000)), ops: hot.length },
    getHot: { fn: getStrings(hot), ops: hot.length },
  });
  if (sink === 42) console.log('');
  await member.close();
  await hub.close();
  table(`member reads: ${paths.length} keys of depth 3, a worker's get`, [
    ['get in a member: string paths, 1k hot keys', r.getHot, 'plain walk, same 1k keys', r.plainHot, '>= 0.7x'],
    ['get in a member: string paths, all keys, random', r.getAll, 'plain walk, pre-split keys', r.plainAll, '>= 0.5x'],
  ]);
  return { hot: r.getHot, plainHot: r.plainHot, all: r.getAll, plainAll: r.plainAll };
}

if (import.meta.url === `file://${process.argv[1]}`) await runMemberReadBench();
