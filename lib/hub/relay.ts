import type { Logger } from '../log.js';
import type { Op } from '../core/op.js';
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

  /** Streams an op the hub applied (from a member, the hub itself, or a peer). */
  applied(op: Op): void {
    const position = ++this.#position;
    if (!this.server.serving) return; // nobody to tell: a member joining later gets it in its snapshot
    const item: WireItem = { k: op.kind, p: op.path as string[] };
    if (op.value !== undefined) item.v = op.value;
    if (op.stamp.node !== this.#replica.id) item.o = op.stamp.node;
    this.server.stream(item, position);
  }

  stats(): MemberServerStats {
    return this.server.stats();
  }

  close(): void {
    this.server.close();
  }
}
