import type { Logger } from '../log.js';
import type { Link } from '../links/link.js';
import { PortLink } from '../links/port.js';
import {
  MEMBER_PROTOCOL_VERSION,
  decodeIntent,
  type HubMessage,
  type StreamItem,
  type WireReply,
} from '../wire/member.js';
import type { Member } from '../member/member.js';
import { onMemberMessages } from './member-messages.js';
import { Queue } from '../member/queue.js';

interface ThreadSession {
  readonly number: number;
  readonly link: Link;
  /** The highest intent id of this thread received. */
  processed: number;
  /** The highest intent id of this thread the hub applied. */
  confirmed: number;
  /** Whether the current stream message acknowledges this thread. */
  acked: boolean;
  replies: WireReply[];
  /** Whether it has its snapshot (only then does it get the stream). */
  synced: boolean;
}

interface Forwarded {
  /** The intent's id at the member (the hub's acknowledgements name that one). */
  readonly here: number;
  readonly session: ThreadSession;
  /** Its id at the thread. */
  readonly there: number;
}

/**
 * The middle tier: in a cluster worker, serves that worker's threads the way a hub serves its
 * members (same protocol), on top of the worker's own member. A thread's writes go up as the
 * worker's (so the hub orders them with everything else); the hub's stream comes down to every
 * thread as the worker received it, with the acknowledgements and cas results of each thread's
 * writes translated from the worker's. A thread's snapshot is the worker's confirmed state.
 */
export class ThreadRelay {
  readonly #member: Member;
  readonly #log: Logger;
  readonly #sessions = new Map<number, ThreadSession>();
  readonly #forwarded = new Queue<Forwarded>();
  readonly #byHere = new Map<number, Forwarded>();
  #next = 1;
  #rejectedMessages = 0;

  constructor(member: Member, log: Logger) {
    this.#member = member;
    this.#log = log;
    member.on('stream', (items, acked, replies) => this.#stream(items, acked, replies));
    member.on('snapshot', (acked) => {
      this.#acknowledge(acked);
      for (const session of this.#sessions.values()) if (session.synced) this.#sendSnapshot(session);
    });
    member.on('close', () => this.close());
  }

  /** Threads attached now, and messages from them dropped as malformed. */
  stats(): { threads: number; rejectedMessages: number } {
    return { threads: this.#sessions.size, rejectedMessages: this.#rejectedMessages };
  }

  /** Serves a thread over `link`. */
  attach(link: Link): void {
    let session: ThreadSession | undefined;
    onMemberMessages(link, {
      hello: () => {
        if (session === undefined) {
          session = { number: this.#next++, link, processed: 0, confirmed: 0, acked: false, replies: [], synced: false };
          this.#sessions.set(session.number, session);
          this.#log('thread %d joined (%s)', session.number, link.label);
        }
        const joining = session;
        this.#member.ready().then(
          () => this.#sendSnapshot(joining),
          () => link.close(),
        );
      },
      write: (first, intents) => this.#write(session!, first, intents),
      reject: (why) => this.#reject(link, why),
    });
    link.on('close', () => {
      if (session === undefined) return;
      this.#sessions.delete(session.number);
      this.#log('thread %d left (%s)', session.number, link.label);
    });
  }

  #reject(link: Link, why: string): void {
    this.#rejectedMessages++;
    this.#log('dropping %s: %s', link.label, why);
    link.close(new Error(why));
  }

  #sendSnapshot(session: ThreadSession): void {
    if (session.link.closed) return;
    const state = this.#member.confirmed();
    session.synced = true;
    const message: HubMessage = {
      t: 'snapshot',
      v: MEMBER_PROTOCOL_VERSION,
      hub: state.hub,
      you: session.number,
      at: state.at,
      w: session.confirmed,
      limits: state.limits,
      tree: state.tree,
    };
    session.link.send(message);
  }

  #write(session: ThreadSession, first: number, intents: unknown[]): void {
    if (first !== session.processed + 1) {
      this.#reject(session.link, `intent ids must follow on (expected ${session.processed + 1}, got ${first})`);
      return;
    }
    const limits = this.#member.limits;
    for (const raw of intents) {
      const there = ++session.processed;
      try {
        const intent = decodeIntent(raw, there, limits);
        const here = this.#member.forward(intent.kind, intent.path, intent.value, intent.expected);
        const forwarded = { here, session, there };
        this.#forwarded.push(forwarded);
        this.#byHere.set(here, forwarded);
      } catch (error) {
        // The thread validates with the same limits: a refusal means a broken thread.
        this.#reject(session.link, `refused write ${there}: ${(error as Error).message}`);
        return;
      }
    }
  }

  // The member's acknowledgement covers its intents up to `acked`: so every thread write among them.
  #acknowledge(acked: number | undefined): void {
    if (acked === undefined) return;
    for (let next = this.#forwarded.peek(); next !== undefined && next.here <= acked; next = this.#forwarded.peek()) {
      this.#forwarded.remove(next);
      this.#byHere.delete(next.here);
      next.session.confirmed = next.there;
      next.session.acked = true;
    }
  }

  #stream(items: readonly StreamItem[], acked: number | undefined, replies: readonly WireReply[]): void {
    for (const reply of replies) {
      const forwarded = this.#byHere.get(reply.i);
      if (forwarded !== undefined) forwarded.session.replies.push({ i: forwarded.there, ok: reply.ok });
    }
    this.#acknowledge(acked);
    const first = items.length > 0 ? items[0]!.n : this.#member.position + 1;
    // The items are the same for every thread: encoded once, unless a thread has its own
    // acknowledgement or replies in this message (as the hub's relay does).
    let shared: string | undefined;
    for (const session of this.#sessions.values()) {
      if (!session.synced) continue;
      const own = session.acked || session.replies.length > 0;
      if (items.length === 0 && !own) continue;
      const message: HubMessage = { t: 'stream', n: first, s: items as StreamItem[] };
      if (!own && session.link instanceof PortLink) {
        session.link.sendEncoded((shared ??= JSON.stringify(message)));
        continue;
      }
      if (session.acked) message.a = [[session.number, session.confirmed]];
      if (session.replies.length > 0) message.r = session.replies;
      session.acked = false;
      session.replies = [];
      session.link.send(message);
    }
  }

  /** Closes every thread's link. */
  close(): void {
    for (const session of this.#sessions.values()) session.link.close();
    this.#sessions.clear();
  }
}
