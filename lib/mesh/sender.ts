import { ProtocolError } from '../errors.js';
import type { NodeId } from '../core/clock.js';
import type { VersionVector } from '../core/horizon.js';
import type { Op } from '../core/op.js';
import type { Replica } from '../core/replica.js';
import { deltaFrame, membersFrame, opsFrame, syncedFrame, type GroupMessage, type PeerFrame, type VectorMessage } from '../wire/peer.js';
import type { PeerSession, StreamRole } from './session.js';

/** Ops per `delta` or `ops` frame. */
const OPS_PER_FRAME = 2000;

/** What the sending end of a stream tells the protocol. */
export interface SenderHost {
  readonly replica: Replica;
  /** Wall-clock milliseconds now (the protocol's clock). */
  now(): number;
  /** How long what was sent may take to arrive before its absence means it was lost. */
  readonly antiEntropyMs: number;
  /** The peer's vector message: its frontier, for GC. */
  heard(peer: NodeId, message: VectorMessage): void;
  /** What this hub knows of the group, sent before others' ops (mesh/membership.ts). */
  group(): GroupMessage;
  /** Some of this hub's own ops left it (it can no longer restamp them). */
  shared(): void;
  /** The stream is synced and live from now on. */
  up(sender: Sender): void;
}

/**
 * The sending end of a stream: on the link this hub dialed, it answers each `vector` with what
 * the peer lacks (numbered `delta` frames, or a snapshot when the peer is behind what GC
 * folded), then `synced`; and it streams this hub's own ops live as runs. `frontier` frames
 * only carry the peer's frontier (for GC).
 *
 * `sentSeq` keeps a burst from being sent twice: this hub's own ops already sent on the link
 * are on their way, so an anti-entropy round in the middle of the burst skips them. A link may
 * still lose some (the protocol does not count on the transport for that): the peer then says
 * so (`resend`, on a gap or a delta missing pieces), or, when the writes have stopped, its
 * vector still lacks ops sent longer ago than an anti-entropy round. Either way this hub sends
 * everything the peer lacks again.
 */
export class Sender implements StreamRole {
  readonly session: PeerSession;
  readonly #host: SenderHost;
  /** Live ops waiting for this turn's frame. */
  outbox: Op[] = [];
  /** This hub's last own seq sent on this link (live or in a delta): the link is FIFO, so it arrives. */
  sentSeq = 0;
  /** Whether the stream is synced and live. */
  up = false;
  /** When this hub's own ops last left on this link. */
  #lastOwnSent = Number.NEGATIVE_INFINITY;
  /** The number of the last delta sent. */
  #deltas = 0;

  constructor(session: PeerSession, host: SenderHost) {
    this.session = session;
    this.#host = host;
  }

  receive(frame: PeerFrame): void {
    if (frame.t !== 'vector' && frame.t !== 'frontier') throw new ProtocolError(`unexpected frame ${frame.t} on the sending end of a stream`);
    this.#host.heard(this.session.peer!.id, frame.message);
    if (frame.t === 'frontier') return;
    this.#host.shared();
    const have = frame.message.vector[this.#host.replica.id]?.seq ?? 0;
    if (frame.message.resend === true || (have < this.sentSeq && this.#host.now() - this.#lastOwnSent > this.#host.antiEntropyMs)) {
      // Something this hub sent on the link was lost: count on nothing being on its way.
      this.sentSeq = 0;
    }
    this.#sendWhatIsMissing(frame.message.vector);
    if (!this.up) {
      this.up = true;
      this.outbox = [];
      this.#host.up(this);
    }
  }

  stop(): void {
    this.up = false;
    this.outbox = [];
  }

  // What the peer at `vector` lacks, then `synced` with this hub's vector.
  #sendWhatIsMissing(vector: VersionVector): void {
    const replica = this.#host.replica;
    // This hub's own ops already sent on this link are on their way (the link is FIFO): an
    // anti-entropy round during a burst must not send them all again.
    const own = replica.id;
    const known = { ...vector };
    const trusted = this.sentSeq > (known[own]?.seq ?? 0);
    if (trusted) known[own] = { seq: this.sentSeq, stamp: known[own]?.stamp ?? { wall: 0, count: 0, node: own } };
    const delta = replica.delta(known);
    // Whatever of other hubs' ops follows, the peer learns first what this hub knows of them.
    this.session.send(membersFrame(this.#host.group()));
    if (delta.kind === 'snapshot') {
      this.session.sendSnapshot(delta.snapshot);
      return;
    }
    const id = ++this.#deltas;
    let pieces = 0;
    for (let start = 0; start < delta.ops.length; start += OPS_PER_FRAME) {
      this.session.send(deltaFrame(id, pieces++, delta.clock, delta.ops.slice(start, start + OPS_PER_FRAME)));
    }
    // The peer's vector moves to this hub's: it covers what this delta skipped as overwritten.
    // But not this hub's own ops that were on their way: if one of them was lost, the vector
    // must not say it came. The peer's own entry moves as they arrive (or at the next round,
    // once nothing is on its way).
    let covered = delta.vector;
    if (trusted) {
      const { [own]: _skipped, ...others } = delta.vector;
      covered = vector[own] === undefined ? others : { ...others, [own]: vector[own] };
    }
    this.session.send(syncedFrame(id, pieces, covered));
    this.sentSeq = Math.max(this.sentSeq, delta.vector[own]?.seq ?? 0);
    this.#lastOwnSent = this.#host.now();
  }

  /** Sends the live ops waiting in the outbox, as runs. */
  flush(): void {
    const ops = this.outbox;
    if (ops.length === 0) return;
    this.outbox = [];
    if (!this.up || !this.session.open) return;
    // A run implies consecutive seqs: a new frame wherever they are not (never, in practice).
    let start = 0;
    for (let end = 1; end <= ops.length; end++) {
      if (end < ops.length && end - start < OPS_PER_FRAME && ops[end]!.seq === ops[end - 1]!.seq + 1) continue;
      this.session.send(opsFrame(ops.slice(start, end)));
      start = end;
    }
    this.sentSeq = Math.max(this.sentSeq, ops[ops.length - 1]!.seq);
    this.#lastOwnSent = this.#host.now();
  }
}
