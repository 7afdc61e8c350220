import { EventEmitter } from 'node:events';
import { ProtocolError } from '../errors.js';
import type { Logger } from '../log.js';
import { LazyList } from '../core/lazy-list.js';
import type { JsonValue } from '../core/value.js';
import type { SnapshotReadings } from '../core/live-readings.js';
import type { Link } from '../links/link.js';
import { partsThen } from '../links/parts.js';
import {
  MEMBER_PROTOCOL_VERSION,
  decodeIntent,
  decodeMemberMessage,
  durableAnswer,
  type HubMessage,
  type Intent,
  type MemberIdentity,
  type MemberLimits,
  type ServedMember,
  type OwnEntry,
  type WireItem,
  type WireReply,
} from '../wire/member.js';
import type { Segments } from '../core/path.js';
import { encodeStream, snapshotParts, streamMessage, useMembersText, writeTextSpan, type ItemsText, type OwnRun } from './stream-text.js';
import type { PlainWrite } from '../wire/plain-write.js';
import { memberList, servedMembers, type MemberLinkStats } from './member-list.js';

export type { MemberLinkStats };

/** A member being served: a cluster worker, or a thread. */
export interface MemberSession {
  /** Its number at this server (what acknowledgements name). */
  readonly number: number;
  readonly link: Link;
  /** The highest intent id of this member received. */
  received: number;
  /** The highest intent id of this member applied by the hub (acknowledged). */
  acknowledged: number;
  /** Whether it has its snapshot (only then does it get the stream). */
  synced: boolean;
  replies: WireReply[];
  /** Who it said it is in its hello. */
  readonly self: MemberIdentity;
  /** When it joined (ms since the epoch). */
  readonly since: number;
  /** The members it serves itself (a worker's threads), as it last told them. */
  serves: readonly ServedMember[];
}

/** Where a server's members' writes go, and where its state comes from. */
export interface Upstream {
  /** The id of the hub that orders the writes, and the limits members validate with. */
  readonly hub: string;
  readonly limits: MemberLimits;
  /** Resolves once the state can be served (a worker's member must have its own snapshot first). */
  ready(): Promise<void>;
  /**
   * The state the hub confirmed, and its position in the hub's stream: a member's snapshot.
   * `tree` holds what expiries have not fired for good yet; `armed` lists them ([path, time]):
   * a member hides them by its own clock. `overTurns`: for a link that sends JSON text in parts,
   * over several turns: then both may read parents of many keys through readings (see
   * ReplicatedTree.export), which only that text encodes; else they are plain JSON. `readings`
   * (those it took) are ended once the text is written.
   */
  snapshot(overTurns: boolean): { tree: JsonValue; at: number; armed?: [string[], number][] | LazyList; readings?: SnapshotReadings };
  /**
   * Takes a member's write, already checked (path, value). The upstream applies it, or sends it
   * up; either way it later calls `acknowledge` (and `reply` for a failed cas) on the server.
   */
  submit(session: MemberSession, intent: Intent): void;
  /**
   * Runs `submitting`, which submits the writes of one message of a member, as one batch (an
   * upstream that stamps them may do so by one reading of its clock: see Replica.writeBatch).
   */
  batch?(submitting: () => void): void;
  /**
   * Resolves once every write submitted so far is on disk (the hub's `persist`); rejects with a
   * CollectiveError (ERR_COLLECTIVE_NOT_PERSISTENT without `persist`).
   */
  durable(): Promise<void>;
}

/** Events of a member server, re-emitted by the hub. */
export interface MemberServerEvents {
  'member:up': [member: number];
  'member:down': [member: number];
}

/** Counters of a member server. */
export interface MemberServerStats {
  members: number;
  /** Each member attached now. */
  list: MemberLinkStats[];
  /** Messages from members dropped as malformed (each also closed that member's link). */
  rejectedMessages: number;
  /** Writes refused (bad path or value): answered with an error. */
  rejectedIntents: number;
  /** Bytes written to members and not yet taken by them (where the link can tell). */
  queuedBytes: number;
}

/**
 * The serving side of the member protocol (wire/member.ts), once, for every tier: a hub serving
 * its cluster workers and threads (hub/relay.ts), and a cluster worker serving its own threads
 * (hub/thread-relay.ts). A member says hello and gets a snapshot; its writes are checked and
 * handed to the upstream, in order; the hub's stream comes down to every member, batched per
 * turn and encoded once for all of them, with each member's acknowledgements and replies.
 */
export class MemberServer extends EventEmitter<MemberServerEvents> {
  readonly #upstream: Upstream;
  readonly #log: Logger;
  readonly #sessions = new Map<number, MemberSession>();
  #next = 1;
  // The stream not yet sent: its items, the position of the first, and who was acknowledged.
  #outbox: (WireItem | PlainWrite)[] = [];
  #outboxFirst = 0;
  // The outbox in runs of items of one writer, or of none (see OwnRun), made as items come:
  // per item, one comparison, and for a member's own write what it gets in its place.
  #runs: OwnRun<MemberSession>[] = [];
  // Spans of the outbox that are a member's write message as it sent it (writeTextSpan), and
  // how many times the outbox was sent (a span is only kept within one outbox).
  #texts: ItemsText[] = [];
  #flushes = 0;
  #position = 0;
  // The horizon to tell members (ms), and the last one told.
  #horizon = Number.NEGATIVE_INFINITY;
  #horizonSent = Number.NEGATIVE_INFINITY;
  readonly #acked = new Set<MemberSession>();
  #flushScheduled = false;
  #rejectedMessages = 0;
  #rejectedIntents = 0;
  #closed = false;

  constructor(upstream: Upstream, log: Logger, position = 0) {
    super();
    this.#upstream = upstream;
    this.#log = log;
    this.#position = position;
  }

  /** Serves a member over `link`: it speaks first (hello), then gets the snapshot. */
  attach(link: Link): void {
    if (this.#closed) {
      link.close();
      return;
    }
    let session: MemberSession | undefined;
    link.on('message', (raw, text) => {
      let message;
      try {
        message = decodeMemberMessage(raw);
      } catch (error) {
        this.#reject(link, (error as Error).message);
        return;
      }
      if (message.t === 'hello') {
        session ??= this.#join(link, { pid: message.p, thread: message.th });
        const joining = session;
        // Asked again (a member that resynchronizes): a fresh snapshot.
        this.#upstream.ready().then(
          () => this.#sendSnapshot(joining),
          () => link.close(),
        );
      } else if (session === undefined) this.#reject(link, `${message.t} before hello`);
      else if (message.t === 'durable') this.#durable(session, message.d);
      else if (message.t === 'serves') session.serves = message.m;
      else this.#write(session, message.i, message.w, text);
    });
    link.on('close', () => {
      if (session === undefined) return;
      this.#sessions.delete(session.number);
      this.#acked.delete(session);
      this.#log('member %d left (%s)', session.number, link.label);
      this.emit('member:down', session.number);
    });
  }

  // A member waits for its writes to be on disk: answered once the upstream says they are.
  #durable(session: MemberSession, request: number): void {
    this.#upstream.durable().then(
      () => session.link.send(durableAnswer(request)),
      (error: unknown) => session.link.send(durableAnswer(request, error)),
    );
  }

  #join(link: Link, self: MemberIdentity): MemberSession {
    const session: MemberSession = { number: this.#next++, link, received: 0, acknowledged: 0, synced: false, replies: [], self, since: Date.now(), serves: [] };
    this.#sessions.set(session.number, session);
    this.#log('member %d joined (%s)', session.number, link.label);
    this.emit('member:up', session.number);
    return session;
  }

  #sendSnapshot(session: MemberSession): void {
    if (session.link.closed) return;
    // What is waiting in the outbox is in the snapshot: send it first, to everyone else.
    if (this.#outbox.length > 0) this.flush();
    const link = session.link;
    const { tree, at, armed, readings } = this.#upstream.snapshot(link.sendInParts !== undefined);
    const written = (): void => readings?.end();
    session.synced = true;
    const header: Omit<Extract<HubMessage, { t: 'snapshot' }>, 'tree' | 'x'> = {
      t: 'snapshot',
      v: MEMBER_PROTOCOL_VERSION,
      hub: this.#upstream.hub,
      you: session.number,
      at,
      w: session.acknowledged,
      limits: { maxDepth: this.#upstream.limits.maxDepth, maxValueBytes: this.#upstream.limits.maxValueBytes },
    };
    const expiries = armed instanceof LazyList || (armed !== undefined && armed.length > 0) ? (armed as unknown as JsonValue) : undefined;
    if (link.sendInParts === undefined) {
      // Plain JSON (see Upstream.snapshot): a link that takes objects may clone them structurally.
      link.send(expiries === undefined ? { ...header, tree } : ({ ...header, tree, x: expiries } as HubMessage));
      written();
      return;
    }
    // A large store is encoded and written over several turns, tree and expiries as they were
    // now: what the hub writes meanwhile follows in the stream.
    link.sendInParts(partsThen(snapshotParts(JSON.stringify(header), tree, expiries), written));
  }

  #reject(link: Link, why: string): void {
    this.#rejectedMessages++;
    this.#log('dropping %s: %s', link.label, why);
    link.close(new ProtocolError(why));
  }

  #write(session: MemberSession, first: number, intents: unknown[], text: string | undefined): void {
    if (first !== session.received + 1) {
      this.#reject(session.link, `intent ids must follow on (expected ${session.received + 1}, got ${first})`);
      return;
    }
    const start = this.#outbox.length;
    const flushes = this.#flushes;
    if (this.#upstream.batch === undefined) this.#submitAll(session, intents);
    else this.#upstream.batch(() => this.#submitAll(session, intents));
    if (text === undefined || this.#flushes !== flushes) return;
    const span = writeTextSpan(this.#outbox, this.#runs, session, start, intents, first, text);
    if (span !== undefined) this.#texts.push(span);
  }

  // Checks and submits the intents of a write message, numbered on from the session's last.
  #submitAll(session: MemberSession, intents: unknown[]): void {
    let previousPath: Segments | undefined;
    for (const raw of intents) {
      const id = ++session.received;
      let intent: Intent;
      try {
        intent = decodeIntent(raw, id, this.#upstream.limits, previousPath);
        previousPath = intent.path;
      } catch (error) {
        // A member checks its writes with these same limits: this one is broken, and its
        // member drops the link when it reads the reply.
        this.#rejectedIntents++;
        this.reply(session, { i: id, ok: false, error: (error as Error).message });
        this.acknowledge(session, id);
        continue;
      }
      this.#upstream.submit(session, intent);
    }
  }

  /** The hub applied `session`'s intents up to `id`: told in the next message. */
  acknowledge(session: MemberSession, id: number): void {
    if (id <= session.acknowledged) return;
    session.acknowledged = id;
    this.#acked.add(session);
    this.#schedule();
  }

  /** An answer to `session` alone: a failed cas, or a refused write. */
  reply(session: MemberSession, reply: WireReply): void {
    session.replies.push(reply);
    this.#schedule();
  }

  /**
   * The next item of the hub's stream, at `position` (one after the last). `writer`: the item is
   * that member's write exactly as it sent it (see isPlainIntent), and it gets `own` alone (the
   * write's intent id, with the item's time if it has one).
   */
  stream(item: WireItem | PlainWrite, position: number, writer?: MemberSession, own: OwnEntry = 0): void {
    if (this.#outbox.length === 0) this.#outboxFirst = position;
    this.#position = position;
    if (this.#sessions.size === 0) {
      // Nobody to tell; a member joining later gets it in its snapshot.
      this.#outbox.length = 0;
      this.#runs.length = 0;
      this.#texts.length = 0;
      return;
    }
    const outbox = this.#outbox;
    outbox.push(item);
    const runs = this.#runs;
    const run = runs[runs.length - 1];
    if (run !== undefined && run.session === writer) {
      run.to = outbox.length;
      if (writer !== undefined) run.intents.push(own);
    } else runs.push({ session: writer, from: outbox.length - 1, to: outbox.length, intents: writer === undefined ? [] : [own] });
    this.#schedule();
  }

  /**
   * The hub's horizon moved to `time` (ms): nothing made at or before it can come any more, so
   * members fire for good the expiries due by then. Told in the next stream message.
   */
  horizon(time: number): void {
    if (time <= this.#horizonSent) return;
    this.#horizon = time;
    if (this.#sessions.size > 0) this.#schedule();
  }

  /** The position of the last item streamed. */
  get position(): number {
    return this.#position;
  }

  /** Whether any member is attached (to stream to). */
  get serving(): boolean {
    return this.#sessions.size > 0;
  }

  /** Sends every member a new snapshot (the upstream's state was replaced). */
  resync(): void {
    for (const session of this.#sessions.values()) if (session.synced) this.#sendSnapshot(session);
  }

  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Sends what waits now: one stream message, encoded once for every member that has nothing
   * of its own in it (a member's replies go to it alone).
   */
  flush(): void {
    this.#flushScheduled = false;
    const items = this.#outbox;
    const runs = this.#runs;
    const texts = this.#texts;
    const first = items.length > 0 ? this.#outboxFirst : this.#position + 1;
    this.#outbox = [];
    this.#runs = [];
    this.#texts = [];
    this.#flushes++;
    const message: HubMessage = { t: 'stream', n: first, s: items };
    if (this.#acked.size > 0) {
      message.a = [...this.#acked].map((session) => [session.number, session.acknowledged]);
      this.#acked.clear();
    }
    if (this.#horizon > this.#horizonSent) {
      message.h = this.#horizon;
      this.#horizonSent = this.#horizon;
    }
    if (items.length === 0 && message.a === undefined && message.h === undefined && !this.#anyReplies()) return;
    // A member with no own items and no replies gets the message all share (see stream-text.ts).
    // No items (acknowledgements, a horizon, replies alone): one empty run of nobody's.
    if (runs.length === 0) runs.push({ session: undefined, from: 0, to: 0, intents: [] });
    if (texts.length > 0) useMembersText(runs, texts);
    let shared: string | undefined;
    for (const session of this.#sessions.values()) {
      if (!session.synced) continue;
      const replies = session.replies.length > 0 ? session.replies : undefined;
      session.replies = [];
      const own = runs.some((run) => run.session === session);
      if (session.link.sendEncoded === undefined) session.link.send(streamMessage(message, runs, session, own, replies));
      else if (!own && replies === undefined) session.link.sendEncoded((shared ??= encodeStream(message, runs, undefined, undefined)));
      else session.link.sendEncoded(encodeStream(message, runs, session, replies));
    }
  }

  #anyReplies(): boolean {
    for (const session of this.#sessions.values()) if (session.replies.length > 0) return true;
    return false;
  }

  stats(): MemberServerStats {
    const list = memberList(this.#sessions.values());
    const queuedBytes = list.reduce((sum, member) => sum + (member.via === undefined ? member.queuedBytes : 0), 0);
    return { members: this.#sessions.size, list, rejectedMessages: this.#rejectedMessages, rejectedIntents: this.#rejectedIntents, queuedBytes };
  }

  /** This server's members as its upstream tells them to the hub (see ServedMember). */
  served(): ServedMember[] {
    return servedMembers(this.#sessions.values());
  }

  /** Sends what waits, then closes every member's link. */
  close(): void {
    this.#closed = true;
    if (this.#flushScheduled) this.flush();
    for (const session of this.#sessions.values()) session.link.close();
    this.#sessions.clear();
  }
}
