import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { PortLink } from '../../lib/links/port.js';
import { Member } from '../../lib/member/member.js';
import { MEMBER_PROTOCOL_VERSION } from '../../lib/wire/member.js';

// `ready({ timeout })` counts the hub's silence, not the snapshot's size: a member whose hub's
// snapshot keeps arriving in parts for longer than the timeout still becomes ready; one whose
// hub goes quiet halfway rejects. The hub's end is a raw port the test writes parts to, on a
// timer (the parts' marks are the port link's: \u0001 before each part, \u0002 at the end).
const PART = '\u0001';
const END = '\u0002';
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

function snapshotText(): string {
  const message = { t: 'snapshot', v: MEMBER_PROTOCOL_VERSION, hub: 'h1', you: 1, at: 0, w: 0, limits: { maxDepth: 32, maxValueBytes: 1 << 20 }, tree: { sessions: { a: 1, b: 2 } } };
  return JSON.stringify(message);
}

// A member on a port, and the hub's raw end; the member's hello has arrived when this resolves.
async function memberOnPort(readyTimeout: number): Promise<{ member: Member; hubPort: MessagePort }> {
  const { port1: hubPort, port2 } = new MessageChannel();
  const hello = new Promise((resolve) => hubPort.once('message', resolve));
  const member = new Member(new PortLink(port2, 'member'), { readyTimeout });
  closers.push(() => member.close(), () => hubPort.close());
  await hello;
  return { member, hubPort };
}

// Posts `text` in `count` parts, one every `everyMs`; stops after `stopAfter` parts without the end.
function postSlowly(port: MessagePort, text: string, count: number, everyMs: number, stopAfter = count): void {
  const size = Math.ceil(text.length / count);
  let sent = 0;
  const timer = setInterval(() => {
    if (sent === stopAfter) {
      clearInterval(timer);
      if (stopAfter === count) port.postMessage(END);
      return;
    }
    port.postMessage(PART + text.slice(sent * size, (sent + 1) * size));
    sent++;
  }, everyMs);
  closers.push(() => clearInterval(timer));
}

describe('Member ready timeout', () => {
  it('waits for a snapshot that keeps arriving for several times the timeout', async () => {
    const { member, hubPort } = await memberOnPort(100);
    const started = Date.now();
    postSlowly(hubPort, snapshotText(), 10, 40);
    await member.ready();
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(member.get('sessions.b')).toBe(2);
  });

  it('rejects when the snapshot stops arriving halfway, saying no hub answered within the timeout', async () => {
    const { member, hubPort } = await memberOnPort(100);
    postSlowly(hubPort, snapshotText(), 10, 20, 5);
    await expect(member.ready()).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_TIMEOUT', message: expect.stringMatching(/within 100 ms/) });
  });
});
