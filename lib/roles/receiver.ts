import { ProtocolError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeOp, decodeStamp, decodeVector, encodeVector } from '../core/codec.js';
import type { Replica, ReplicaSnapshot } from '../core/replica.js';
import type { FrameMessage, TcpLink } from '../links/tcp.js';

/**
 * The receiving end of a peer's stream (the connection the peer dialed): sends this hub's
 * version vector, applies the `delta` pieces and `synced` that answer it, then live `ops`. A
 * sequence gap, or the anti-entropy timer, sends the vector again. A frame that fails
 * validation drops the link before any of it is applied.
 */
export function receiveStream(link: TcpLink, replica: Replica, log: Logger, antiEntropyMs: number): void {
  const requestSync = (): void => {
    link.send({ t: 'vector', p: encodeVector(replica.vector()) });
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
          const decoded = ops.map((op) => decodeOp(op, replica.limits));
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
          if (!Array.isArray(message.p)) throw new TypeError('malformed ops');
          const ops = message.p.map((op) => decodeOp(op, replica.limits));
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
      link.close(new ProtocolError((error as Error).message));
    }
  });
  requestSync();
  const timer = setInterval(requestSync, antiEntropyMs);
  timer.unref();
  link.once('close', () => clearInterval(timer));
}
