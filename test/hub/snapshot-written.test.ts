import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import { Replica } from '../../lib/core/replica.js';
import { HubRelay } from '../../lib/hub/relay.js';
import { PortLink } from '../../lib/links/port.js';
import { logger } from '../../lib/log.js';
import { Member } from '../../lib/member/member.js';
import { waitFor } from '../helpers/wait.js';

// A snapshot sent in parts reads the parents it holds in place, and each GC fold copies what it
// replaces into those readings until the hub says the snapshot was written. The hub says so
// once the last part went out, and also when the member's link closes before that.

// A hub's replica holding `sessions` keys folded under one parent, and its relay, whose
// snapshots count the times their readings are ended (said written).
function hub(sessions: number): { replica: Replica; relay: HubRelay; written: () => number; taken: () => number } {
  let relay: HubRelay | undefined;
  const replica = new Replica({ id: 'hub' as NodeId, onApplied: (op, restated) => relay?.applied(op, restated), onReplaced: () => relay?.replaced() });
  for (let i = 0; i < sessions; i++) replica.set(['sessions', `s${i}`], { user: i });
  replica.collect(replica.frontier().clock);
  relay = new HubRelay(replica, logger('relay', 'test'));
  let written = 0;
  let taken = 0;
  const snapshot = relay.snapshot.bind(relay);
  relay.snapshot = (overTurns) => {
    const state = snapshot(overTurns);
    if (overTurns) taken++;
    const readings = state.readings;
    if (readings !== undefined) {
      const end = readings.end.bind(readings);
      readings.end = () => (written++, end());
    }
    return state;
  };
  return { replica, relay, written: () => written, taken: () => taken };
}

describe('a snapshot sent in parts', () => {
  it('is said written once its last part went out', async () => {
    const { relay, written, taken } = hub(5000);
    const { port1, port2 } = new MessageChannel();
    relay.attach(new PortLink(port1, 'hub-end'));
    const member = new Member(new PortLink(port2, 'member-end'));
    try {
      await member.ready();
      expect(taken()).toBe(1);
      await waitFor(() => written() === 1, 2000, 'the snapshot said written');
      expect(member.get(['sessions', 's4999'])).toEqual({ user: 4999 });
    } finally {
      member.close();
      relay.close();
    }
  });

  it('is said written when the link closes before its last part', async () => {
    const { relay, written, taken } = hub(200_000);
    const { port1, port2 } = new MessageChannel();
    const hubEnd = new PortLink(port1, 'hub-end');
    relay.attach(hubEnd);
    const member = new Member(new PortLink(port2, 'member-end'));
    const ready = member.ready().catch(() => undefined); // it never gets its snapshot
    try {
      await waitFor(() => taken() === 1, 5000, 'the snapshot taken');
      // 200k sessions take several turns to send: the link closes while they go out.
      expect(written()).toBe(0);
      hubEnd.close();
      expect(written()).toBe(1);
    } finally {
      member.close();
      relay.close();
      await ready;
    }
  });
});
