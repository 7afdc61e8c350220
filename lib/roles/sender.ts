import { encodeOp, encodeRun, encodeVector } from '../core/codec.js';
import type { VersionVector } from '../core/horizon.js';
import type { Op } from '../core/op.js';
import type { Replica } from '../core/replica.js';
import type { TcpLink } from '../links/tcp.js';

/** Ops per `delta` or `ops` frame. */
const OPS_PER_FRAME = 2000;

/** The sending end of a stream this hub writes to one peer (the connection it dialed). */
export interface Outbound {
  link: TcpLink | undefined;
  state: 'down' | 'connecting' | 'up';
  /** Live ops waiting for this turn's frame. */
  outbox: Op[];
  /** This hub's last own seq sent on the current link (live or in a delta): FIFO, so it arrives. */
  sentSeq: number;
}

/**
 * Answers a receiver's vector on `link`: what it lacks, in `delta` frames (or a snapshot when
 * it is behind what GC folded), then `synced` with this hub's vector.
 */
export function sendWhatIsMissing(replica: Replica, peer: Outbound, link: TcpLink, vector: VersionVector): void {
  // This hub's own ops already sent on this link are on their way (the link is FIFO): an
  // anti-entropy round during a burst must not send them all again.
  const own = replica.id;
  const known = { ...vector };
  if (peer.sentSeq > (known[own]?.seq ?? 0)) known[own] = { seq: peer.sentSeq, stamp: known[own]?.stamp ?? { wall: 0, count: 0, node: own } };
  const delta = replica.delta(known);
  if (delta.kind === 'snapshot') {
    link.send({ t: 'snapshot', p: delta.snapshot });
    return;
  }
  const clock = [delta.clock.wall, delta.clock.count, delta.clock.node];
  for (let start = 0; start < delta.ops.length; start += OPS_PER_FRAME) {
    link.send({ t: 'delta', p: [clock, delta.ops.slice(start, start + OPS_PER_FRAME).map(encodeOp)] });
  }
  // The receiver's vector moves to this hub's, which covers this hub's own ops up to its
  // current seq: those not yet sent must go out before the vector says they were.
  link.send({ t: 'synced', p: encodeVector(delta.vector) });
  peer.sentSeq = Math.max(peer.sentSeq, delta.vector[own]?.seq ?? 0);
}

/** Sends the live ops waiting in `peer.outbox` as runs (core/codec.ts `encodeRun`). */
export function sendLive(peer: Outbound): void {
  const ops = peer.outbox;
  if (ops.length === 0) return;
  peer.outbox = [];
  if (peer.link === undefined || peer.state !== 'up') return;
  // A run implies consecutive seqs: a new frame wherever they are not (never, in practice).
  let start = 0;
  for (let end = 1; end <= ops.length; end++) {
    if (end < ops.length && end - start < OPS_PER_FRAME && ops[end]!.seq === ops[end - 1]!.seq + 1) continue;
    peer.link.send({ t: 'ops', p: encodeRun(ops.slice(start, end)) });
    start = end;
  }
  peer.sentSeq = Math.max(peer.sentSeq, ops[ops.length - 1]!.seq);
}
