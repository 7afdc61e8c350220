import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import type { Op } from '../../lib/core/op.js';
import { Replica } from '../../lib/core/replica.js';
import { HubRelay } from '../../lib/hub/relay.js';
import { MemoryLink } from '../../lib/links/memory.js';
import { logger } from '../../lib/log.js';
import { Member } from '../../lib/member/member.js';
import { MEMBER_PROTOCOL_VERSION } from '../../lib/wire/member.js';
import { opSpecArb, stampOps, type OpSpec } from '../helpers/arbitraries.js';
import { waitFor } from '../helpers/wait.js';

// A hub's replica, its relay and one member over a memory link, wired as lib/hub/hub.ts wires
// them. Members apply the hub's stream in arrival order, while the hub places every op by its
// stamp: what the relay streams must leave every member equal to the hub.
async function hubWithMember(now: () => number = () => 10_000): Promise<{ replica: Replica; relay: HubRelay; member: Member; caughtUp(): Promise<void>; close(): void }> {
  let relay: HubRelay | undefined;
  const replica = new Replica({
    id: 'hub' as NodeId,
    now,
    onApplied: (op, restated) => relay!.applied(op, restated),
    onReplaced: () => relay!.replaced(),
  });
  relay = new HubRelay(replica, logger('relay', 'test'));
  const [hubEnd, memberEnd] = MemoryLink.pair('relay-test');
  relay.attach(hubEnd);
  const member = new Member(memberEnd);
  await member.ready();
  return {
    replica,
    relay,
    member,
    caughtUp: () => waitFor(() => member.stats().position === relay!.server.position, 2000, 'the member to catch up'),
    close: () => {
      member.close();
      relay!.close();
    },
  };
}

describe('HubRelay: members equal their hub', () => {
  it('after an expiry came due on a hub with peers (armed until its horizon passes), the next write fires it on members too', async () => {
    const { replica, member, caughtUp, close } = await hubWithMember(Date.now);
    try {
      replica.incr('rate', 1, { ttl: 30 });
      replica.incr('rate', 1, { ttl: 30 });
      const due = Date.now() + 30;
      await waitFor(() => Date.now() > due + 5, 2000, 'the window to end');
      // The hub's expiry timer takes what came due; with peers it stays armed until GC folds it.
      expect(replica.expireDue()).toHaveLength(1);
      replica.incr('rate', 1, { ttl: 60_000 });
      await caughtUp();
      expect(replica.get('rate')).toBe(1);
      expect(member.get('rate')).toBe(1);
      expect(member.ttl('rate')).toBeGreaterThan(50_000);
    } finally {
      close();
    }
  });

  it('an own write made after an expiry came due, on a hub with peers, fires it first on its writer too (its time comes back with its id)', async () => {
    const { replica, member, caughtUp, close } = await hubWithMember(Date.now);
    try {
      await member.incr('window', 1, { ttl: 20 });
      await member.incr('window', 1, { ttl: 20 });
      const due = Date.now() + 20;
      await waitFor(() => Date.now() > due + 5, 2000, 'the window to end');
      // No horizon has passed it (a hub with peers): the hub fires it before this incr, by the
      // incr's time, and so must the member that wrote it.
      await member.incr('window', 1);
      await caughtUp();
      expect(replica.get('window')).toBe(1);
      expect(member.get('window')).toBe(1);
    } finally {
      close();
    }
  });

  it('for any ops from peer hubs, arriving in any order (late ones among later ones)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opSpecArb, { maxLength: 30 }).chain((specs) => {
          const ops = stampOps(specs);
          return fc.tuple(fc.constant(ops), fc.shuffledSubarray(ops, { minLength: ops.length, maxLength: ops.length }), fc.integer({ min: 1, max: 5 }));
        }),
        async ([, order, batch]) => {
          const { replica, member, caughtUp, close } = await hubWithMember();
          try {
            for (let start = 0; start < order.length; start += batch) {
              const delta = replica.receiveDelta({ wall: 0, count: 0, node: 'n1' as NodeId });
              delta.apply(order.slice(start, start + batch) as Op[]);
              await caughtUp();
              expect(member.get()).toEqual(replica.get());
            }
          } finally {
            close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('for any writes of several members (their own coming back as ids) among late ops from peers', async () => {
    // A member write: kind, path, value, and whether it asks for a ttl (while one may be armed,
    // own writes come back with their time).
    const memberWriteArb = fc.record({
      member: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom('set', 'set', 'delete', 'incr', 'append', 'cas'),
      path: fc.constantFrom(['a'], ['a', 'b'], ['c'], ['c', 'd', 'e']),
      value: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('x', 'y'), fc.constant({ k: 1 })),
      ttl: fc.option(fc.constantFrom(60_000, 120_000), { freq: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(memberWriteArb, opSpecArb), { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), async (steps, turn) => {
        // The hub on the real clock, as its members are: their expiries are read by it.
        const { replica, relay, member, caughtUp, close } = await hubWithMember(Date.now);
        const members = [member];
        for (let i = 0; i < 2; i++) {
          const [hubEnd, memberEnd] = MemoryLink.pair(`relay-test-${i}`);
          relay.attach(hubEnd);
          members.push(new Member(memberEnd));
        }
        try {
          await Promise.all(members.map((each) => each.ready()));
          const peerOps = stampOps(steps.filter((step) => 'node' in step) as OpSpec[]);
          let nextPeerOp = 0;
          for (let index = 0; index < steps.length; index++) {
            const step = steps[index]!;
            if ('node' in step) {
              // Peers' ops, some late: applied in stamp order but after the members' own writes.
              replica.receiveDelta({ wall: 0, count: 0, node: 'n1' as NodeId }).apply(peerOps.slice(nextPeerOp, ++nextPeerOp) as Op[]);
            } else {
              const writer = members[step.member]!;
              const options = step.ttl === null ? undefined : { ttl: step.ttl };
              const done =
                step.kind === 'set' ? writer.set(step.path, step.value, options)
                : step.kind === 'delete' ? writer.delete(step.path)
                : step.kind === 'incr' ? writer.incr(step.path, typeof step.value === 'number' ? step.value : 1, options)
                : step.kind === 'append' ? writer.append(step.path, step.value, options)
                : writer.cas(step.path, null, step.value, options);
              done.catch(() => undefined);
            }
            if (index % turn === 0) await new Promise((resolve) => setImmediate(resolve));
          }
          await Promise.all(members.map((each) => each.flush()));
          await caughtUp();
          for (const each of members) await waitFor(() => each.stats().position === relay.server.position, 2000, 'every member to catch up');
          for (const each of members) expect(each.get()).toEqual(replica.get());
        } finally {
          for (const each of members.slice(1)) void each.close();
          close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('streams a late write as the value it left, and nothing for one a later write wipes', async () => {
    const { replica, relay, member, caughtUp, close } = await hubWithMember(() => 1000);
    try {
      const peer = new Replica({ id: 'peer' as NodeId, now: () => 500 });
      replica.set('x', 'hub, later');
      replica.incr('n', 2);
      peer.set('x', 'peer, earlier'); // wiped by the hub's later set
      peer.set('n', 40); // before the hub's incr: n = 40 + 2
      peer.set('y.z', 1);
      await caughtUp();
      const position = relay.server.position;
      replica.applyDelta(peer.delta(replica.vector()));
      await caughtUp();
      expect(relay.server.position).toBe(position + 2); // n and y.z; x's write changed nothing
      expect(member.get()).toEqual({ x: 'hub, later', n: 42, y: { z: 1 } });
      expect(member.get()).toEqual(replica.get());
    } finally {
      close();
    }
  });

  it('gives every member the whole state again when the hub adopts a snapshot', async () => {
    const { replica, member, caughtUp, close } = await hubWithMember(() => 1000);
    try {
      replica.set('mine', 1);
      await caughtUp();
      const group = new Replica({ id: 'group' as NodeId, now: () => 900 });
      for (let i = 0; i < 5; i++) group.set(['k', String(i)], i);
      group.collect(group.frontier().clock); // folded: only a snapshot can carry it
      replica.applyDelta(group.delta(replica.vector()));
      expect(replica.get()).toEqual({ mine: 1, k: { 0: 0, 1: 1, 2: 2, 3: 3, 4: 4 } });
      await waitFor(() => JSON.stringify(member.get()) === JSON.stringify(replica.get()), 2000, 'the member to take the new state');
    } finally {
      close();
    }
  });

  it("streams a member's plain writes on to the other members as the text it sent, and anything else as the hub encodes it", async () => {
    const { relay, member, caughtUp, close } = await hubWithMember(Date.now);
    // A writer and an observer on raw links: the observer reads the stream's text as it comes.
    const [writerEnd, writer] = MemoryLink.pair('writer');
    const [observerEnd, observer] = MemoryLink.pair('observer');
    relay.attach(writerEnd);
    relay.attach(observerEnd);
    const texts: string[] = [];
    let snapshots = 0;
    writer.on('message', (message) => void ((message as { t: string }).t === 'snapshot' && snapshots++));
    observer.on('message', (message, text) => {
      if ((message as { t: string }).t === 'snapshot') snapshots++;
      else texts.push(text!);
    });
    writer.send({ t: 'hello', v: MEMBER_PROTOCOL_VERSION });
    observer.send({ t: 'hello', v: MEMBER_PROTOCOL_VERSION });
    try {
      await waitFor(() => snapshots === 2, 2000, 'both snapshots');
      // Numbers as JSON.stringify would never write them: only a verbatim copy keeps them so.
      writer.sendEncoded('[1,[0,"x", 1.50],[2,"n",  3]]');
      // The observer and the member get each stream message in the same turn.
      await waitFor(() => member.get('n') === 3, 2000, 'the first writes');
      expect(texts.join('\n')).toContain('[0,"x", 1.50],[2,"n",  3]');
      // Encoded again: a message with a refused intent, one whose first id is not written as
      // digits alone, one with a cas.
      writer.sendEncoded('[3,[0,"y", 2.0],[0,"__proto__.x",1]]');
      writer.sendEncoded('[ 5,[0,"z", 3.0]]');
      writer.sendEncoded('[6,[0,"w", 4.0],{"k":"cas","p":["c"],"v":1}]');
      await waitFor(() => member.get('c') === 1, 2000, 'the later writes');
      await caughtUp();
      const later = texts.join('\n');
      for (const item of ['[0,"y",2]', '[0,"z",3]', '[0,"w",4]']) expect(later).toContain(item);
      for (const verbatim of ['2.0', '3.0', '4.0']) expect(later).not.toContain(verbatim);
      expect(member.get()).toEqual({ x: 1.5, n: 3, y: 2, z: 3, w: 4, c: 1 });
      // Two messages in one turn: one run of the writer's items, both texts in it.
      writer.sendEncoded('[8,[0,"p", 1.50]]');
      writer.sendEncoded('[9,[0,"q", 2.50]]');
      await waitFor(() => member.get('q') === 2.5, 2000, 'two messages in a turn');
      expect(texts.join('\n')).toContain('[0,"p", 1.50],[0,"q", 2.50]');
      // Once an expiry may be armed, items carry their time: encoded by the hub, with it.
      writer.sendEncoded('[10,{"k":"set","p":["e"],"v":1,"t":60000}]');
      writer.sendEncoded('[11,[0,"f", 5.0]]');
      await waitFor(() => member.get('f') === 5, 2000, 'a write after one with an expiry');
      expect(texts.join('\n')).not.toContain('5.0');
      await caughtUp();
      expect(member.get()).toEqual(relay.snapshot(false).tree);
    } finally {
      writer.close();
      observer.close();
      close();
    }
  });
});
