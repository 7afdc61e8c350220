import { decodeStamp, decodeOp, decodeVector, encodeOp, encodeVector, type DecodeLimits, type WireOp, type WireVector } from './codec.js';
import type { Delta, ReplicaSnapshot } from './replica.js';

/** A delta as it travels. */
export type WireDelta =
  | { kind: 'ops'; ops: WireOp[]; vector: WireVector; clock: [number, number, string] }
  | { kind: 'snapshot'; snapshot: ReplicaSnapshot };

/** The wire form of a delta. */
export function encodeDelta(delta: Delta): WireDelta {
  if (delta.kind === 'snapshot') return delta;
  const { wall, count, node } = delta.clock;
  return { kind: 'ops', ops: delta.ops.map(encodeOp), vector: encodeVector(delta.vector), clock: [wall, count, node] };
}

/**
 * Validates a received delta. A snapshot is validated in full when applied (`applyDelta`
 * decodes it before touching any state).
 */
export function decodeDelta(input: unknown, limits: DecodeLimits): Delta {
  if (typeof input !== 'object' || input === null) throw new TypeError('malformed delta');
  const delta = input as Record<string, unknown>;
  if (delta.kind === 'snapshot') {
    if (typeof delta.snapshot !== 'object' || delta.snapshot === null) throw new TypeError('malformed delta snapshot');
    return { kind: 'snapshot', snapshot: delta.snapshot as ReplicaSnapshot };
  }
  if (delta.kind !== 'ops' || !Array.isArray(delta.ops) || !Array.isArray(delta.clock)) throw new TypeError('malformed delta');
  return {
    kind: 'ops',
    ops: delta.ops.map((op) => decodeOp(op, limits)),
    vector: decodeVector(delta.vector),
    clock: decodeStamp(delta.clock[0], delta.clock[1], delta.clock[2]),
  };
}
