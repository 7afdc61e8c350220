import type { MemberIdentity, ServedMember } from '../wire/member.js';

/** What the list reads of a member server's session (MemberSession has it all). */
interface ListedSession {
  readonly number: number;
  readonly link: { readonly label: string; readonly queuedBytes?: number | undefined };
  readonly received: number;
  readonly acknowledged: number;
  readonly synced: boolean;
  readonly self: MemberIdentity;
  readonly since: number;
  readonly serves: readonly ServedMember[];
}

/** One member attached to a hub, as `stats().memberList` shows it. */
export interface MemberLinkStats {
  /** Its number at the hub. */
  member: number;
  /** `'worker'`, or `'thread'` for a worker thread. */
  kind: 'worker' | 'thread';
  /** Its process id, and for a thread its thread id, as it told them (undefined if it did not). */
  pid: number | undefined;
  thread: number | undefined;
  /** The link it is served over (`worker:3`, `thread-port`, ...). */
  link: string;
  /** When it joined, in ms since the epoch. */
  since: number;
  /** Its writes the hub received. */
  writes: number;
  /** Of those, the ones not yet applied by the hub: writes in flight. */
  pending: number;
  /** Bytes written to it and not yet taken by it (where the link can tell). */
  queuedBytes: number;
  /** Whether it has its snapshot and follows the stream. */
  synced: boolean;
  /**
   * For a thread of a cluster worker: the number of the member (the worker) that serves it, as
   * that worker told (its figures are the worker's, up to a second old). Undefined for a member
   * of this hub itself.
   */
  via: number | undefined;
}

/**
 * The members of a server as its stats list them: each session, then the members it serves
 * itself (a worker's threads) as it last told them.
 */
export function memberList(sessions: Iterable<ListedSession>): MemberLinkStats[] {
  const list: MemberLinkStats[] = [];
  for (const session of sessions) {
    const { pid, thread } = session.self;
    list.push({
      member: session.number,
      kind: thread === undefined ? 'worker' : 'thread',
      pid,
      thread,
      link: session.link.label,
      since: session.since,
      writes: session.received,
      pending: session.received - session.acknowledged,
      queuedBytes: session.link.queuedBytes ?? 0,
      synced: session.synced,
      via: undefined,
    });
    for (const served of session.serves) {
      list.push({
        member: served.n,
        kind: 'thread',
        pid: served.p,
        thread: served.th,
        link: `via member ${session.number}`,
        since: served.s,
        writes: served.w,
        pending: served.q,
        queuedBytes: served.b,
        synced: served.y !== 0,
        via: session.number,
      });
    }
  }
  return list;
}

/** A server's own members as a worker tells them to its hub (the `serves` message). */
export function servedMembers(sessions: Iterable<ListedSession>): ServedMember[] {
  return [...sessions].map((session) => {
    const served: ServedMember = { n: session.number, s: session.since, w: session.received, q: session.received - session.acknowledged, b: session.link.queuedBytes ?? 0 };
    if (session.self.pid !== undefined) served.p = session.self.pid;
    if (session.self.thread !== undefined) served.th = session.self.thread;
    if (!session.synced) served.y = 0;
    return served;
  });
}
