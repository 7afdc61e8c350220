import type { Logger } from '../log.js';
import { ABSENT } from '../core/node.js';
import type { LazyList } from '../core/lazy-list.js';
import type { SnapshotReadings } from '../core/live-readings.js';
import type { Op } from '../core/op.js';
import type { Segments } from '../core/path.js';
import type { JsonValue } from '../core/value.js';
import type { Replica } from '../core/replica.js';
import type { Link } from '../links/link.js';
import { encodeArmed, encodeSnapshotArmed } from '../wire/armed.js';
import { isPlainIntent, type Intent, type WireItem } from '../wire/member.js';
import { plainCode, plainWrite, wirePath } from '../wire/plain-write.js';
import { notPersistent } from './persist/persistence.js';
import { MemberServer, type MemberServerStats, type MemberSession, type Upstream } from './member-server.js';

/**
 * A hub's side of its members (cluster workers, threads): their writes are stamped and applied
 * through the hub's replica, in the one order of this machine, and every applied write (its
 * members', its own, its peers') is streamed to every member (hub/member-server.ts).
 */
export class HubRelay implements Upstream {
  readonly server: MemberServer;
  readonly #replica: Replica;
  #position = 0;
  // The latest time anything members were told of is armed to expire at, and the latest
  // horizon they were told: while the first is not behind the second, a member may hold an
  // armed expiry, so each write carries its time (what is due by then fires before it), and
  // horizons go out (what is due by then fires for good). Past it, neither is needed.
  #armedUntil = Number.NEGATIVE_INFINITY;
  #toldHorizon = Number.NEGATIVE_INFINITY;

  readonly #durable: () => Promise<void>;
  // The member write being applied now, if it is a plain one (see submit): its member, and the
  // intent (its id, and the array it came as, streamed on as it is).
  #writer: MemberSession | undefined;
  #writing: Intent | undefined;

  /**
   * `durable` resolves once every write applied so far is on disk (see Upstream.durable); by
   * default there is no disk.
   */
  constructor(replica: Replica, log: Logger, durable: () => Promise<void> = notPersistent) {
    this.#replica = replica;
    this.#durable = durable;
    this.server = new MemberServer(this, log);
  }

  durable(): Promise<void> {
    return this.#durable();
  }

  get hub(): string {
    return this.#replica.id;
  }

  get limits(): Replica['limits'] {
    return this.#replica.limits;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  snapshot(overTurns: boolean): { tree: JsonValue; at: number; armed: [string[], number][] | LazyList; readings: SnapshotReadings | undefined } {
    const { value, armed, armedFolded, readings } = this.#replica.export([], overTurns);
    for (const entry of armed) this.#armed(entry.at);
    for (const entry of armedFolded) this.#armed(entry.times.latest);
    return { tree: value === ABSENT ? {} : value, at: this.#position, armed: encodeSnapshotArmed(armed, armedFolded), readings };
  }

  submit(session: MemberSession, intent: Intent): void {
    // A plain write streams back to its writer as its intent id (see isPlainIntent); `applied`
    // runs within the write below and takes this.
    if (isPlainIntent(intent)) {
      this.#writer = session;
      this.#writing = intent;
    }
    if (intent.kind === 'cas') {
      if (this.#replica.casValidated(intent.path, intent.expected ?? null, intent.value!, intent.expiry) === undefined) {
        this.server.reply(session, { i: intent.id, ok: false });
      }
    } else if (intent.kind === 'ttl') {
      if (this.#replica.expireValidated(intent.path, intent.value as number | null) === undefined) this.server.reply(session, { i: intent.id, ok: false });
    } else {
      this.#replica.writeValidated(intent.kind, intent.path, intent.value, intent.expiry);
    }
    this.#writer = undefined;
    this.#writing = undefined;
    this.server.acknowledge(session, intent.id);
  }

  batch(submitting: () => void): void {
    this.#replica.writeBatch(submitting);
  }

  /** Serves a member over `link`. */
  attach(link: Link): void {
    this.server.attach(link);
  }

  /**
   * Streams an op the hub applied (from a member, the hub itself, or a peer). An op that came
   * late is streamed as the value it left at `restated` (see Restated), or not at all when a
   * later write wipes it: members apply the stream in arrival order.
   */
  applied(op: Op, restated?: Segments | null): void {
    const writer = this.#writer;
    const intent = this.#writing;
    this.#writer = undefined;
    this.#writing = undefined;
    if (restated === null) return;
    if (op.expireAt !== undefined) this.#armed(op.expireAt);
    else if (op.kind === 'ttl' && typeof op.value === 'number') this.#armed(op.value);
    const position = ++this.#position;
    if (!this.server.serving) return; // nobody to tell: a member joining later gets it in its snapshot
    const code = plainCode(op.kind);
    if (restated === undefined && code !== undefined && op.expireAt === undefined && op.keepTtl !== true && !this.#mayBeArmed()) {
      // The write itself and nothing more: as a plain write (see PlainWrite).
      if (writer !== undefined) {
        // Its member's write, applied as sent: the intent it came as is the item.
        this.server.stream(intent!.plain ?? plainWrite(code, wirePath(op.path), op.value), position, writer, intent!.id);
        return;
      }
      this.server.stream(plainWrite(code, wirePath(op.path), op.value, op.stamp.node === this.#replica.id ? undefined : op.stamp.node), position);
      return;
    }
    let item: WireItem;
    if (restated === undefined) {
      item = { k: op.kind, p: op.path as string[] };
      if (op.value !== undefined) item.v = op.value;
      if (op.expireAt !== undefined) item.x = op.expireAt;
      if (op.keepTtl === true) item.q = 1;
      // While anything may be armed, members fire what is due by the write's time before it.
      if (this.#mayBeArmed()) item.w = op.stamp.wall;
    } else {
      // The value a follower could not place itself: as it is before any expiry fires by a
      // clock, with what is armed in it (the member hides what comes due by its own clock).
      const { value, armed, underObject } = this.#replica.export(restated);
      item = { k: op.kind, p: restated as string[], r: 1 };
      if (value !== ABSENT) item.v = value;
      else if (underObject) item.c = 1;
      for (const entry of armed) this.#armed(entry.at);
      if (armed.length > 0) item.m = encodeArmed(armed);
      if (this.#mayBeArmed()) item.w = op.stamp.wall;
    }
    if (op.stamp.node !== this.#replica.id) item.o = op.stamp.node;
    // The writer already holds the write: it gets the intent id alone (with the item's time,
    // if it has one), unless the hub restated it.
    if (writer === undefined || restated !== undefined) this.server.stream(item, position);
    else this.server.stream(item, position, writer, item.w === undefined ? intent!.id : [intent!.id, item.w]);
  }

  /** The hub's horizon moved to `time` (ms): its members may fire for good what is due by then. */
  horizon(time: number): void {
    if (!this.#mayBeArmed()) return;
    this.#toldHorizon = time;
    this.server.horizon(time);
  }

  #armed(at: number): void {
    if (at > this.#armedUntil) this.#armedUntil = at;
  }

  #mayBeArmed(): boolean {
    return this.#armedUntil > this.#toldHorizon;
  }

  /** The hub's state was replaced (it adopted a peer's snapshot): every member starts over from it. */
  replaced(): void {
    this.server.resync();
  }

  stats(): MemberServerStats {
    return this.server.stats();
  }

  close(): void {
    this.server.close();
  }
}
