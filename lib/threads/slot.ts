import { threadId, type MessagePort } from 'node:worker_threads';
import { PortLink } from '../links/port.js';
import { Member, type MemberOptions } from '../member/member.js';

/**
 * A thread's link to its store, kept on the global object under a registered symbol: a task
 * may load collective both as ESM and as CommonJS (two module instances), and both must use
 * the one member this thread has.
 */
interface ThreadSlot {
  member?: Member | undefined;
  link?: PortLink | undefined;
}

const KEY = Symbol.for('collective.thread');

/** This thread's slot. */
export function threadSlot(): ThreadSlot {
  const global = globalThis as { [KEY]?: ThreadSlot };
  return (global[KEY] ??= {});
}

/**
 * Makes this thread a member through `port`, unless it already is one (then the port is
 * closed): for a pool's thread entry and for a plain thread's `ready()` alike. `preface`, if
 * given, is posted first (a pool thread says which thread it is).
 */
export function joinThroughPort(port: MessagePort, label: string, options: MemberOptions = {}, preface?: string): Member {
  const slot = threadSlot();
  if (slot.member !== undefined) {
    port.close();
    return slot.member;
  }
  if (preface !== undefined) port.postMessage(preface);
  const link = new PortLink(port, label);
  const member = new Member(link, { self: { pid: process.pid, thread: threadId }, ...options });
  slot.member = member;
  slot.link = link;
  member.once('close', () => {
    if (slot.member === member) {
      slot.member = undefined;
      slot.link = undefined;
    }
  });
  return member;
}
