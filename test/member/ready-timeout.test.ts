import { setImmediate as nextTurn } from 'node:timers/promises';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PortLink } from '../../lib/links/port.js';
import { Member } from '../../lib/member/member.js';
import { MEMBER_PROTOCOL_VERSION } from '../../lib/wire/member.js';

// `ready({ timeout })` counts the hub's silence, not the snapshot's size: a member whose hub's
// snapshot keeps arriving in parts for longer than the timeout still becomes ready; one whose
// hub goes quiet halfway rejects. The hub's end is a raw port the test writes parts to (the
// port link's marks: \u0001 before each part, \u0002 at the end); the member's timer runs on
// fake time, advanced only once each part has arrived, so that no test depends on the pace.
const PART = '\u0001';
const END = '\u0002';
const TIMEOUT = 100;
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  vi.useRealTimers();
});

function snapshotParts(count: number): string[] {
  const message = { t: 'snapshot', v: MEMBER_PROTOCOL_VERSION, hub: 'h1', you: 1, at: 0, w: 0, limits: { maxDepth: 32, maxValueBytes: 1 << 20 }, tree: { sessions: { a: 1, b: 2 } } };
  const text = JSON.stringify(message);
  const size = Math.ceil(text.length / count);
  return Array.from({ length: count }, (_, i) => text.slice(i * size, (i + 1) * size));
}

// A member on a port (its timer on fake time), the hub's raw end, and its link; the member's
// hello has arrived when this resolves.
async function memberOnPort(): Promise<{ member: Member; hubPort: MessagePort; link: PortLink }> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const { port1: hubPort, port2 } = new MessageChannel();
  const hello = new Promise((resolve) => hubPort.once('message', resolve));
  const link = new PortLink(port2, 'member');
  const member = new Member(link, { readyTimeout: TIMEOUT });
  closers.push(() => member.close(), () => hubPort.close());
  await hello;
  return { member, hubPort, link };
}

// Posts `part` and waits (real turns) until the member's link has it.
async function arrive(hubPort: MessagePort, link: PortLink, part: string): Promise<void> {
  const before = link.bytesReceived;
  hubPort.postMessage(part);
  for (let turns = 0; link.bytesReceived === before; turns++) {
    if (turns > 10_000) throw new Error('a part never arrived');
    await nextTurn();
  }
}

describe('Member ready timeout', () => {
  it('waits for a snapshot that keeps arriving for several times the timeout', async () => {
    const { member, hubPort, link } = await memberOnPort();
    let settled = false;
    void member.ready().then(() => (settled = true), () => (settled = true));
    for (const part of snapshotParts(10)) {
      await arrive(hubPort, link, PART + part);
      vi.advanceTimersByTime(TIMEOUT * 0.9);
    }
    // Nine timeouts' worth of time has passed since the start: still waiting, not rejected.
    expect(settled).toBe(false);
    await arrive(hubPort, link, END);
    await member.ready();
    expect(member.get('sessions.b')).toBe(2);
  });

  it('rejects when the snapshot stops arriving halfway, saying no hub answered within the timeout', async () => {
    const { member, hubPort, link } = await memberOnPort();
    const ready = member.ready();
    ready.catch(() => undefined);
    for (const part of snapshotParts(10).slice(0, 5)) {
      await arrive(hubPort, link, PART + part);
      vi.advanceTimersByTime(TIMEOUT * 0.9);
    }
    // One timeout from the last part the timer finds something new and waits on; one more, silence.
    vi.advanceTimersByTime(TIMEOUT * 2);
    await expect(ready).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_TIMEOUT', message: expect.stringMatching(/within 100 ms/) });
  });
});
