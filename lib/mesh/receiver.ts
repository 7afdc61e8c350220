import { ProtocolError } from '../errors.js';
import { compareStamps, type Stamp } from '../core/clock.js';
import type { Op } from '../core/op.js';
import type { Replica } from '../core/replica.js';
import { vectorFrame, type GroupMessage, type PeerFrame, type VectorMessage } from '../wire/peer.js';
import type { MeshClock } from './clock.js';
import { GC_PACE_MS } from './membership.js';
import type { PeerSession, StreamRole } from './session.js';

/** What the receiving end of a stream needs of the protocol. */
export interface ReceiverHost {
  readonly replica: Replica;
  readonly clock: MeshClock;
  /** This hub's vector message: its version vector and frontier, sent to the peer. */
  frontier(): VectorMessage;
  /** What the peer knows of the group (its `members` frame, before what it sends of other hubs' ops). */
  heardGroup(group: GroupMessage): void;
  log(format: string, ...args: unknown[]): void;
}

// An op this replica folded past cannot be placed: the whole frame is refused (Replica.isLate).
function refuseLate(replica: Replica, ops: readonly Op[]): void {
  for (const op of ops) {
    if (replica.isLate(op)) {
      throw new ProtocolError(
        `op ${op.stamp.node}#${op.seq} is stamped at or below what the group folded: ${op.stamp.node} wrote it with a clock behind ` +
          `by more than the fold lag before it joined, and could not restamp it; restart without their state ${op.stamp.node} and the peer that sent it`,
        'ERR_COLLECTIVE_BELOW_HORIZON',
      );
    }
  }
}

/** A delta being received: which of its pieces came, and the replica's receiver for it. */
interface Incoming {
  readonly id: number;
  readonly pieces: Set<number>;
  receiver: ReturnType<Replica['receiveDelta']> | undefined;
  lastPieceAt: number;
}

/**
 * The receiving end of a stream (the link the peer dialed): sends this hub's version vector,
 * applies the `delta` pieces and `synced` that answer it, then live `ops`. A sequence gap, or
 * the anti-entropy timer, sends the vector again (with this hub's frontier, for the peer's GC);
 * in between, `frontier` frames carry the frontier alone whenever this hub's clock moved, so
 * that the peer folds its op records while they are young.
 *
 * It does not count on the link for what arrives: a delta's vector is taken only once every
 * piece of that delta, and every delta before it, came (deltas are numbered); a gap in a live
 * run, a delta missing pieces or a delta that never came make it ask for everything again
 * (`resend`). Ops are always good to apply, whatever order they come in: the replica places
 * each by its stamp and takes each once.
 */
export class Receiver implements StreamRole {
  readonly #session: PeerSession;
  readonly #host: ReceiverHost;
  readonly #antiEntropyMs: number;
  // The highest delta number met, and the delta being received.
  #seen = 0;
  #incoming: Incoming | undefined;
  #resend = false;
  readonly #stops: (() => void)[] = [];
  #told: Stamp | undefined;

  constructor(session: PeerSession, host: ReceiverHost, antiEntropyMs: number) {
    this.#session = session;
    this.#host = host;
    this.#antiEntropyMs = antiEntropyMs;
    this.#requestSync();
    this.#stops.push(host.clock.every(antiEntropyMs, () => this.#antiEntropy()));
    this.#stops.push(host.clock.every(Math.min(antiEntropyMs, GC_PACE_MS), () => this.#tellFrontier()));
  }

  #requestSync(): void {
    const message = this.#host.frontier();
    this.#session.send(vectorFrame(this.#resend ? { ...message, resend: true } : message));
    this.#resend = false;
  }

  // Something of the stream was lost: ask for all of it again.
  #lost(why: string): void {
    this.#host.log('%s: %s: asking for everything it lacks', this.#session.link.label, why);
    this.#incoming = undefined;
    this.#resend = true;
    this.#requestSync();
  }

  #antiEntropy(): void {
    // A delta whose end has not come for a whole round lost its `synced` (or pieces).
    const incoming = this.#incoming;
    if (incoming !== undefined && this.#host.clock.now() - incoming.lastPieceAt > this.#antiEntropyMs) this.#resend = true;
    if (this.#resend) this.#incoming = undefined;
    this.#requestSync();
  }

  // Where delta `id` stands: the one being received, or a stray (an earlier one given up on,
  // or one met after a delta that never came: its ops are applied, its vector never taken).
  #meet(id: number): Incoming | undefined {
    if (id > this.#seen + 1) {
      this.#seen = id;
      this.#lost(`delta ${id} came after ${id - 1} never did`);
      return undefined;
    }
    if (id === this.#seen + 1) {
      this.#seen = id;
      this.#incoming = { id, pieces: new Set(), receiver: undefined, lastPieceAt: this.#host.clock.now() };
    }
    return this.#incoming?.id === id ? this.#incoming : undefined;
  }

  #tellFrontier(): void {
    const clock = this.#host.replica.clockCeiling();
    if (this.#told !== undefined && compareStamps(clock, this.#told) === 0) return;
    this.#told = clock;
    this.#session.send(vectorFrame(this.#host.frontier(), 'frontier'));
  }

  // Frames come checked whole by the wire guards: an op below the fold refuses the whole
  // frame before anything of it is applied.
  receive(frame: PeerFrame): void {
    const replica = this.#host.replica;
    switch (frame.t) {
      case 'delta': {
        refuseLate(replica, frame.ops);
        const incoming = this.#meet(frame.id);
        if (incoming === undefined) {
          replica.receiveDelta(frame.clock).apply(frame.ops);
          return;
        }
        if (incoming.pieces.has(frame.index)) return; // a duplicate
        incoming.pieces.add(frame.index);
        incoming.lastPieceAt = this.#host.clock.now();
        (incoming.receiver ??= replica.receiveDelta(frame.clock)).apply(frame.ops);
        return;
      }
      case 'synced': {
        const incoming = this.#meet(frame.id);
        if (incoming === undefined) return; // the end of a delta given up on, or after one lost (asked again)
        this.#incoming = undefined;
        if (incoming.pieces.size !== frame.pieces) {
          this.#lost(`delta ${frame.id} came with ${incoming.pieces.size} of its ${frame.pieces} pieces`);
          return;
        }
        // Every piece came: the sender's vector covers what it skipped as overwritten, too.
        (incoming.receiver ?? replica.receiveDelta({ wall: 0, count: 0, node: replica.id })).end(frame.vector);
        return;
      }
      case 'members':
        this.#host.heardGroup(frame.group);
        return;
      case 'snapshot':
        replica.adoptSnapshot(frame.snapshot);
        return;
      case 'ops':
        refuseLate(replica, frame.ops);
        for (const op of frame.ops) {
          if (replica.apply(op) === 'gap') {
            this.#lost(`sequence gap at ${op.stamp.node}#${op.seq}`);
            return;
          }
        }
        return;
      default:
        throw new ProtocolError(`unexpected frame ${frame.t} on the receiving end of a stream`);
    }
  }

  stop(): void {
    for (const stop of this.#stops) stop();
  }
}
