import type { Logger } from '../log.js';
import type { Op } from '../core/op.js';
import type { Segments } from '../core/path.js';
import type { JsonValue } from '../core/value.js';
import type { Replica } from '../core/replica.js';
import type { Link } from '../links/link.js';
import type { Intent, WireItem } from '../wire/member.js';
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

  constructor(replica: Replica, log: Logger) {
    this.#replica = replica;
    this.server = new MemberServer(this, log);
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

  snapshot(): { tree: JsonValue; at: number } {
    return { tree: this.#replica.get() ?? {}, at: this.#position };
  }

  submit(session: MemberSession, intent: Intent): void {
    if (intent.kind === 'cas') {
      if (this.#replica.casValidated(intent.path, intent.expected ?? null, intent.value!) === undefined) {
        this.server.reply(session, { i: intent.id, ok: false });
      }
    } else {
      this.#replica.writeValidated(intent.kind, intent.path, intent.value);
    }
    this.server.acknowledge(session, intent.id);
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
    if (restated === null) return;
    const position = ++this.#position;
    if (!this.server.serving) return; // nobody to tell: a member joining later gets it in its snapshot
    let item: WireItem;
    if (restated === undefined) {
      item = { k: op.kind, p: op.path as string[] };
      if (op.value !== undefined) item.v = op.value;
    } else {
      item = { k: op.kind, p: restated as string[], r: 1 };
      const value = this.#replica.get(restated);
      if (value !== undefined) item.v = value;
    }
    if (op.stamp.node !== this.#replica.id) item.o = op.stamp.node;
    this.server.stream(item, position);
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
