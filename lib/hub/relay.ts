import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { Op } from '../core/op.js';
import type { Segments } from '../core/path.js';
import type { Replica } from '../core/replica.js';
import type { Link } from '../links/link.js';
import { PipeLink } from '../links/pipe.js';
import { PortLink } from '../links/port.js';
import { onMemberMessages } from './member-messages.js';
import {
  MEMBER_PROTOCOL_VERSION,
  decodeIntent,
  type HubMessage,
  type Intent,
  type WireItem,
  type WireReply,
} from '../wire/member.js';

interface MemberSession {
  readonly number: number;
  readonly link: Link;
  /** The highest intent id of this member the hub has processed. */
  processed: number;
  replies: WireReply[];
}

/** Events of the relay, re-emitted by the hub. */
export interface RelayEvents {
  'member:up': [member: number];
  'member:down': [member: number];
}

/** Counters of the relay, for the hub's stats. */
export interface RelayStats {
  members: number;
  /** Messages from members dropped as malformed (each also closed that member's link). */
  rejectedMessages: number;
  /** Intents refused (bad path or value): answered with an error, link kept. */
  rejectedIntents: number;
  /** Bytes written to members and not yet taken by them (where the link can tell). */
  queuedBytes: number;
}

/**
 * The hub's side of its members: takes their intents, applies them through the hub's replica
 * (which stamps them, in the one order of this machine), and streams every applied write to
 * every member, batched per event-loop turn and encoded once for all of them.
 */
export class MemberRelay extends EventEmitter<RelayEvents> {
  readonly #replica: Replica;
  readonly #log: Logger;
  readonly #members = new Map<number, MemberSession>();
  #nextMember = 1;
  #position = 0;
  #outbox: WireItem[] = [];
  // The stream position of the first item in the outbox.
  #outboxFirst = 1;
  #flushScheduled = false;
  // Members whose intents were applied since the last flush: acknowledged in its `a`.
  #acked = new Set<MemberSession>();
  #rejectedMessages = 0;
  #rejectedIntents = 0;
  #closed = false;

  constructor(replica: Replica, log: Logger) {
    super();
    this.#replica = replica;
    this.#log = log;
  }

  /** Serves a member over `link`: it speaks first (hello), then gets the snapshot. */
  attach(link: Link): void {
    if (this.#closed) {
      link.close();
      return;
    }
    let session: MemberSession | undefined;
    onMemberMessages(link, {
      hello: () => {
        session ??= this.#join(link);
        this.#sendSnapshot(session);
      },
      write: (first, intents) => this.#write(session!, first, intents),
      reject: (why) => this.#reject(link, why),
    });
    link.on('close', () => {
      if (session === undefined) return;
      this.#members.delete(session.number);
      this.#log('member %d left (%s)', session.number, link.label);
      this.emit('member:down', session.number);
    });
  }

  #join(link: Link): MemberSession {
    const session: MemberSession = { number: this.#nextMember++, link, processed: 0, replies: [] };
    this.#members.set(session.number, session);
    this.#log('member %d joined (%s)', session.number, link.label);
    this.emit('member:up', session.number);
    return session;
  }

  #sendSnapshot(session: MemberSession): void {
    const message: HubMessage = {
      t: 'snapshot',
      v: MEMBER_PROTOCOL_VERSION,
      hub: this.#replica.id,
      you: session.number,
      at: this.#position,
      w: session.processed,
      limits: { maxDepth: this.#replica.limits.maxDepth, maxValueBytes: this.#replica.limits.maxValueBytes },
      tree: this.#replica.get() ?? {},
    };
    session.link.send(message);
  }

  #reject(link: Link, why: string): void {
    this.#rejectedMessages++;
    this.#log('dropping %s: %s', link.label, why);
    link.close(new Error(why));
  }

  #write(session: MemberSession, first: number, intents: unknown[]): void {
    if (first !== session.processed + 1) {
      this.#reject(session.link, `intent ids must follow on (expected ${session.processed + 1}, got ${first})`);
      return;
    }
    let previousPath: Segments | undefined;
    for (const raw of intents) {
      const id = ++session.processed;
      let intent: Intent;
      try {
        intent = decodeIntent(raw, id, this.#replica.limits, previousPath);
        previousPath = intent.path;
      } catch (error) {
        this.#rejectedIntents++;
        this.#reply(session, { i: id, ok: false, error: (error as Error).message });
        continue;
      }
      this.#apply(session, intent);
    }
  }

  #apply(session: MemberSession, intent: Intent): void {
    if (intent.kind === 'cas') {
      const op = this.#replica.casValidated(intent.path, intent.expected ?? null, intent.value!);
      if (op === undefined) this.#reply(session, { i: intent.id, ok: false });
    } else {
      this.#replica.writeValidated(intent.kind, intent.path, intent.value);
    }
    this.#acked.add(session);
    this.#scheduleFlush();
  }

  #reply(session: MemberSession, reply: WireReply): void {
    session.replies.push(reply);
    this.#scheduleFlush();
  }

  /** Streams an op the hub applied (from a member, the hub itself, or a peer). */
  applied(op: Op): void {
    if (this.#members.size === 0) {
      // Nobody to tell; a member joining later gets it in its snapshot.
      this.#position++;
      return;
    }
    if (this.#outbox.length === 0) this.#outboxFirst = this.#position + 1;
    this.#position++;
    const item: WireItem = { k: op.kind, p: op.path as string[] };
    if (op.value !== undefined) item.v = op.value;
    if (op.stamp.node !== this.#replica.id) item.o = op.stamp.node;
    this.#outbox.push(item);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const items = this.#outbox;
    const first = items.length > 0 ? this.#outboxFirst : this.#position + 1;
    this.#outbox = [];
    const message: HubMessage = { t: 'stream', n: first, s: items };
    if (this.#acked.size > 0) {
      message.a = [...this.#acked].map((session) => [session.number, session.processed]);
      this.#acked.clear();
    }
    if (items.length === 0 && message.a === undefined && !this.#anyReplies()) return;
    let shared: string | undefined;
    for (const session of this.#members.values()) {
      if (session.replies.length > 0) {
        session.link.send({ ...message, r: session.replies });
        session.replies = [];
      } else if (session.link instanceof PipeLink || session.link instanceof PortLink) session.link.sendEncoded((shared ??= JSON.stringify(message)));
      else session.link.send(message);
    }
  }

  #anyReplies(): boolean {
    for (const session of this.#members.values()) if (session.replies.length > 0) return true;
    return false;
  }

  stats(): RelayStats {
    let queuedBytes = 0;
    for (const session of this.#members.values()) queuedBytes += session.link.queuedBytes ?? 0;
    return { members: this.#members.size, rejectedMessages: this.#rejectedMessages, rejectedIntents: this.#rejectedIntents, queuedBytes };
  }

  /** Closes every member link. */
  close(): void {
    this.#closed = true;
    if (this.#flushScheduled) this.#flush();
    for (const session of this.#members.values()) session.link.close();
    this.#members.clear();
  }
}
