import { DEFAULTS } from '../defaults.js';
import type { Logger } from '../log.js';
import type { Link } from '../links/link.js';
import type { Member } from '../member/member.js';
import { Queue } from '../member/queue.js';
import type { Intent, StreamItem, WireItem, WireReply } from '../wire/member.js';
import { MemberServer, type MemberServerStats, type MemberSession, type Upstream } from './member-server.js';

interface Forwarded {
  /** The intent's id at the worker's member (the hub's acknowledgements name that one). */
  readonly here: number;
  readonly session: MemberSession;
  /** Its id at the thread. */
  readonly there: number;
}

/**
 * The middle tier: in a cluster worker, serves that worker's threads as a hub serves its
 * members (hub/member-server.ts, the same protocol), on top of the worker's own member. A
 * thread's writes go up as the worker's (so the hub orders them with everything else); the
 * hub's stream comes down to every thread as the worker received it, with the
 * acknowledgements and cas results of each thread's writes translated from the worker's. A
 * thread's snapshot is the worker's confirmed state.
 */
export class ThreadRelay implements Upstream {
  readonly server: MemberServer;
  readonly #member: Member;
  readonly #forwarded = new Queue<Forwarded>();
  readonly #byHere = new Map<number, Forwarded>();
  // The threads' figures as last told to the hub, and the timer that tells them again.
  #told = '[]';
  #tellTimer: NodeJS.Timeout | undefined;

  constructor(member: Member, log: Logger) {
    this.#member = member;
    this.server = new MemberServer(this, log, member.position);
    member.on('stream', (items, acked, replies, horizon) => this.#stream(items, acked, replies, horizon));
    member.on('snapshot', (acked) => {
      this.#acknowledge(acked);
      this.server.resync();
    });
    member.on('close', () => {
      clearInterval(this.#tellTimer);
      this.server.close();
    });
    this.server.on('member:up', () => this.#tellServed());
    this.server.on('member:down', () => this.#tellServed());
  }

  // The hub lists a worker's threads too (stats, dashboard): told when one joins or leaves, and
  // every servedReportMs while any is served, if their figures changed.
  #tellServed(): void {
    const served = this.server.served();
    const text = JSON.stringify(served);
    if (text !== this.#told) {
      this.#told = text;
      this.#member.tellServed(served);
    }
    if (served.length > 0 && this.#tellTimer === undefined) {
      this.#tellTimer = setInterval(() => this.#tellServed(), DEFAULTS.servedReportMs);
      this.#tellTimer.unref();
    } else if (served.length === 0) {
      clearInterval(this.#tellTimer);
      this.#tellTimer = undefined;
    }
  }

  get hub(): string {
    return this.#member.stats().hub;
  }

  get limits(): Member['limits'] {
    return this.#member.limits;
  }

  ready(): Promise<void> {
    return this.#member.ready();
  }

  snapshot(overTurns: boolean): Pick<ReturnType<Member['confirmed']>, 'tree' | 'at' | 'armed' | 'readings'> {
    const state = this.#member.confirmed(overTurns);
    return { tree: state.tree, at: state.at, armed: state.armed, readings: state.readings };
  }

  durable(): Promise<void> {
    return this.#member.flush({ durable: true });
  }

  submit(session: MemberSession, intent: Intent): void {
    const here = this.#member.forward(intent.kind, intent.path, intent.value, intent.expected, intent.expiry);
    const forwarded = { here, session, there: intent.id };
    this.#forwarded.push(forwarded);
    this.#byHere.set(here, forwarded);
  }

  /** Serves a thread over `link`. */
  attach(link: Link): void {
    this.server.attach(link);
  }

  // The member's acknowledgement covers its intents up to `acked`: so every thread write among them.
  #acknowledge(acked: number | undefined): void {
    if (acked === undefined) return;
    for (let next = this.#forwarded.peek(); next !== undefined && next.here <= acked; next = this.#forwarded.peek()) {
      this.#forwarded.remove(next);
      this.#byHere.delete(next.here);
      this.server.acknowledge(next.session, next.there);
    }
  }

  #stream(items: readonly StreamItem[], acked: number | undefined, replies: readonly WireReply[], horizon: number | undefined): void {
    for (const reply of replies) {
      const forwarded = this.#byHere.get(reply.i);
      if (forwarded !== undefined) this.server.reply(forwarded.session, { i: forwarded.there, ok: reply.ok });
    }
    // The items travel on as they came (their position and origin filled in: threads read them
    // alike); a thread's own plain write goes back to it as its intent id there.
    for (const item of items) {
      const forwarded = item.i === undefined ? undefined : this.#byHere.get(item.i);
      if (forwarded === undefined) this.server.stream(item as WireItem, item.n);
      else this.server.stream(item as WireItem, item.n, forwarded.session, item.w === undefined ? forwarded.there : [forwarded.there, item.w]);
    }
    // After the items: they name the writes the acknowledgement forgets.
    this.#acknowledge(acked);
    if (horizon !== undefined) this.server.horizon(horizon);
    // Right away rather than at the end of the turn: the worker already waited for this message.
    this.server.flush();
  }

  /** Threads attached now, and messages from them dropped as malformed. */
  stats(): MemberServerStats {
    return this.server.stats();
  }

  /** Closes every thread's link. */
  close(): void {
    this.server.close();
  }
}
