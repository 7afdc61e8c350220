import { fork, type ChildProcess } from 'node:child_process';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Replica } from '../../lib/core/replica.js';
import { HubRelay } from '../../lib/hub/relay.js';
import { ThreadRelay } from '../../lib/hub/thread-relay.js';
import { IpcLink } from '../../lib/links/ipc.js';
import type { Link } from '../../lib/links/link.js';
import { MemoryLink } from '../../lib/links/memory.js';
import { PipeLink } from '../../lib/links/pipe.js';
import { PortLink } from '../../lib/links/port.js';
import { Member } from '../../lib/member/member.js';
import { fixtures } from '../helpers/processes.js';
import { destroySockets, socketPair } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait.js';

// The member protocol over every link that carries it, in the two shapes it runs in: a hub and
// its workers; a hub, a worker, and that worker's threads (the worker serving them through the
// one member-serving implementation, hub/member-server.ts). Writes from every member count
// exactly, every member reads the same tree, and one cas wins.
type Pair = () => Promise<[Link, Link]>;

const kinds: Record<string, Pair> = {
  memory: async () => MemoryLink.pair('topology'),
  pipe: async () => {
    const [a, b] = await socketPair();
    return [new PipeLink(a, 'hub-end'), new PipeLink(b, 'member-end')];
  },
  port: async () => {
    const { port1, port2 } = new MessageChannel();
    return [new PortLink(port1, 'hub-end'), new PortLink(port2, 'member-end')];
  },
};

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  destroySockets();
});

function hub(): HubRelay {
  const replica = new Replica({ onApplied: (op) => relay.applied(op) });
  const relay = new HubRelay(replica, () => undefined);
  closers.push(() => relay.close());
  Object.defineProperty(relay, 'replica', { value: replica });
  return relay;
}

const replicaOf = (relay: HubRelay): Replica => (relay as unknown as { replica: Replica }).replica;

// Per member: how many of its own writes the stream gave back as intent ids (not items).
const ownEntries = new WeakMap<Member, number>();

async function member(serve: (link: Link) => void, pair: Pair): Promise<Member> {
  const [served, mine] = await pair();
  serve(served);
  const joined = new Member(mine);
  ownEntries.set(joined, 0);
  mine.on('message', (message) => {
    const entries = (message as { s?: unknown[] }).s ?? [];
    for (const entry of entries) {
      if (typeof entry === 'number' || (Array.isArray(entry) && typeof entry[1] === 'number')) ownEntries.set(joined, ownEntries.get(joined)! + 1);
    }
  });
  closers.push(() => void joined.close());
  await joined.ready();
  return joined;
}

async function exercise(members: Member[], hubState: () => unknown): Promise<void> {
  const wins = await Promise.all(
    members.map(async (each, i) => {
      for (let n = 0; n < 100; n++) void each.incr('hits');
      void each.append('log', `m${i}`);
      return each.cas('lock', null, `m${i}`);
    }),
  );
  await Promise.all(members.map((each) => each.flush()));
  expect(wins.filter(Boolean)).toHaveLength(1);
  const expected = { hits: 100 * members.length, lock: `m${wins.indexOf(true)}` };
  await waitFor(() => members.every((each) => (each.get('hits') as number) === expected.hits), 10_000, 'every member to read every write');
  expect(hubState()).toMatchObject(expected);
  const trees = members.map((each) => each.get());
  for (const tree of trees) expect(tree).toEqual(trees[0]);
  expect((trees[0] as { log: string[] }).log.slice().sort()).toEqual(members.map((_, i) => `m${i}`));
  // Each member's 100 incr and its append came back to it as ids; its cas, decided by the hub, did not.
  for (const each of members) expect(ownEntries.get(each)).toBe(101);
}

describe.each(Object.entries(kinds))('the member protocol over %s links', (_name, pair) => {
  it('a hub and two workers', async () => {
    const relay = hub();
    const workers = [await member((link) => relay.attach(link), pair), await member((link) => relay.attach(link), pair)];
    await exercise(workers, () => replicaOf(relay).get());
  });

  it('a hub, a worker, and two threads of that worker (three tiers)', async () => {
    const relay = hub();
    const worker = await member((link) => relay.attach(link), pair);
    const tier = new ThreadRelay(worker, () => undefined);
    closers.push(() => tier.close());
    const threads = [await member((link) => tier.attach(link), pair), await member((link) => tier.attach(link), pair)];
    await exercise(threads, () => replicaOf(relay).get());
    expect(worker.get('hits')).toBe(200);
    // With an expiry armed, items carry their time, and so do a thread's own writes coming back.
    await threads[0]!.set('session', 1, { ttl: 60_000 });
    const before = ownEntries.get(threads[1]!)!;
    await threads[1]!.set('after', 2);
    await waitFor(() => threads[0]!.get('after') === 2 && worker.get('after') === 2, 5000, 'the write after the expiry');
    expect(ownEntries.get(threads[1]!)).toBe(before + 1);
    expect(threads[1]!.ttl('session')).toBeGreaterThan(0);
  });
});

describe('a snapshot sent in parts (a pipe, a port)', () => {
  it.each(['pipe', 'port'])('over a %s, a member joining a large store while writes go on gets it whole, then every write, in order', async (kind) => {
    const relay = hub();
    const replica = replicaOf(relay);
    let last = replica.set(['big', 'k0'], { n: 0, pad: '' });
    for (let i = 1; i < 60_000; i++) last = replica.set(['big', `k${i}`], { n: i, pad: 'x'.repeat(150) });
    // Folded into one parent of many keys, which the folds below go on adding to in place while
    // the snapshot reads it: what it sends must be that parent as it was when it was taken.
    replica.collect(last.stamp);
    const [served, mine] = await kinds[kind]!();
    relay.attach(served);
    const joined = new Member(mine);
    closers.push(() => void joined.close());
    // Writes on every turn until the member is ready: some are made while its snapshot is in
    // parts on the way, and must come after it.
    let writes = 0;
    const writer = setInterval(() => {
      for (let i = 0; i < 50; i++) {
        replica.incr('counter', 1);
        // A count inside the parent: a snapshot that read a later value of it would count twice.
        replica.incr(['big', 'hits'], 1);
        last = replica.set(['big', `k${writes % 60_000}`], { n: -writes - 1 }); // not -0: JSON has none
        writes++;
      }
      replica.collect(last.stamp);
    }, 1);
    await joined.ready();
    const atReady = writes;
    await waitFor(() => writes > atReady + 500, 5000, 'writes after the snapshot');
    clearInterval(writer);
    await waitFor(() => joined.position === relay.server.position, 5000, 'the member to catch up');
    expect(joined.get('counter')).toBe(writes);
    expect(joined.get('big.hits')).toBe(writes);
    expect(joined.get()).toEqual(replica.get());
  });
});

describe('the member protocol over cluster IPC (a worker in a forked child)', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it.each(['json', 'advanced'] as const)('a hub and two workers, each over its own IPC channel (%s serialization)', async (serialization) => {
    const relay = hub();
    // A parent of many keys, folded: a snapshot reads it through a reading, which an IPC
    // channel that clones structurally would lose; the hub sends it as plain JSON there.
    let last = replicaOf(relay).set(['big', 'k0'], 0);
    for (let i = 1; i < 100; i++) last = replicaOf(relay).set(['big', `k${i}`], i);
    replicaOf(relay).collect(last.stamp);
    const reports = await Promise.all(
      [0, 1].map(
        (i) =>
          new Promise<Record<string, unknown>>((resolve, reject) => {
            const child = fork(`${fixtures}ipc-member.mjs`, [String(i)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization });
            children.push(child);
            relay.attach(new IpcLink(child, `child ${i}`));
            child.on('message', (message: { report?: Record<string, unknown> }) => message?.report && resolve(message.report));
            child.once('exit', (code) => reject(new Error(`child ${i} exited with ${code}`)));
          }),
      ),
    );
    expect(reports.map((report) => report.bigKeys)).toEqual([100, 100]);
    expect(reports.filter((report) => report.won)).toHaveLength(1);
    await waitFor(() => (replicaOf(relay).get('hits') as number) === 200, 10_000, 'every write at the hub');
    expect(replicaOf(relay).get('lock')).toBe(`m${reports.findIndex((report) => report.won)}`);
  });
});
