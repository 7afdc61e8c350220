import { ProtocolError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeOp, decodeRun, decodeStamp, decodeVector } from '../core/codec.js';
import type { Op } from '../core/op.js';
import type { Replica, ReplicaSnapshot } from '../core/replica.js';
import type { FrameMessage, TcpLink } from '../links/tcp.js';
import { encodeVectorMessage, type VectorMessage } from '../wire/peer.js';
import { compareStamps, type Stamp } from '../core/clock.js';
import { GC_PACE_MS } from './membership.js';

// An op this replica folded past cannot be placed: refuse the whole frame (see Replica.isLate).
function refuseLate(replica: Replica, ops: Op[]): Op[] {
  for (const op of ops) {
    if (replica.isLate(op)) {
      throw new ProtocolError(
        `op ${op.stamp.node}#${op.seq} is stamped at or below this hub's GC horizon: its hub wrote before it joined the group ` +
          'and could not restamp, or its clock is behind by more than the fold lag; restart that hub without its state',
        'ERR_COLLECTIVE_BELOW_HORIZON',
      );
    }
  }
  return ops;
}

/**
 * The receiving end of a peer's stream (the connection the peer dialed): sends this hub's
 * version vector, applies the `delta` pieces and `synced` that answer it, then live `ops` (runs
 * of the peer's own ops, core/codec.ts `encodeRun`). A sequence gap, or the anti-entropy
 * timer, sends the vector again, with this hub's frontier (`frontier()`) for the peer's GC; in
 * between, `frontier` frames carry the frontier alone whenever this hub's clock moved. A frame
 * that fails validation drops the link before any of it is applied.
 */
export function receiveStream(link: TcpLink, replica: Replica, log: Logger, antiEntropyMs: number, frontier: () => VectorMessage): void {
  const requestSync = (): void => {
    link.send({ t: 'vector', p: encodeVectorMessage(frontier()) });
  };
  let delta: ReturnType<Replica['receiveDelta']> | undefined;
  link.on('message', (raw) => {
    const message = raw as FrameMessage;
    try {
      switch (message.t) {
        case 'delta': {
          if (!Array.isArray(message.p) || message.p.length < 1 || !Array.isArray(message.p[1])) throw new TypeError('malformed delta');
          const [clock, ops] = message.p as [unknown, unknown[]];
          if (!Array.isArray(clock)) throw new TypeError('malformed delta clock');
          const decoded = refuseLate(replica, ops.map((op) => decodeOp(op, replica.limits)));
          delta ??= replica.receiveDelta(decodeStamp(clock[0], clock[1], clock[2]));
          delta.apply(decoded);
          break;
        }
        case 'synced': {
          const vector = decodeVector(message.p);
          (delta ?? replica.receiveDelta({ wall: 0, count: 0, node: replica.id })).end(vector);
          delta = undefined;
          break;
        }
        case 'snapshot':
          replica.applyDelta({ kind: 'snapshot', snapshot: message.p as ReplicaSnapshot });
          break;
        case 'ops': {
          const ops = refuseLate(replica, decodeRun(message.p, replica.limits));
          for (const op of ops) {
            if (replica.apply(op) === 'gap') {
              log('%s: sequence gap at %s#%d: asking for what is missing', link.label, op.stamp.node, op.seq);
              requestSync();
              break;
            }
          }
          break;
        }
        default:
          throw new TypeError(`unexpected frame ${message.t}`);
      }
    } catch (error) {
      // Decoders check a whole frame before anything is applied: a bad frame changes nothing.
      log('%s: dropping the link: %s', link.label, (error as Error).message);
      link.close(error instanceof ProtocolError ? error : new ProtocolError((error as Error).message));
    }
  });
  requestSync();
  const timer = setInterval(requestSync, antiEntropyMs);
  timer.unref();
  // Between anti-entropy rounds, the frontier alone (no delta in answer) whenever it moved, so
  // that the peer can fold its op records while they are young (GC_PACE_MS).
  let told: Stamp | undefined;
  const frontierTimer = setInterval(() => {
    const clock = replica.clockCeiling();
    if (told !== undefined && compareStamps(clock, told) === 0) return;
    told = clock;
    link.send({ t: 'frontier', p: encodeVectorMessage(frontier()) });
  }, Math.min(antiEntropyMs, GC_PACE_MS));
  frontierTimer.unref();
  link.once('close', () => {
    clearInterval(timer);
    clearInterval(frontierTimer);
  });
}
