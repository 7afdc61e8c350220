import fc from 'fast-check';
import type { NodeId } from '../../lib/core/clock.js';
import type { Op, OpKind } from '../../lib/core/op.js';
import { toStoredValue } from '../../lib/core/value.js';

/** A small alphabet, so that parents and children collide often. */
export const keyArb = fc.constantFrom('a', 'b', 'c');
export const pathArb = fc.array(keyArb, { minLength: 1, maxLength: 3 });
const scalarArb = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('x', 'y'), fc.boolean(), fc.constant(null));
export const valueArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.dictionary(keyArb, tie('value'), { maxKeys: 2 }),
    fc.array(scalarArb, { maxLength: 2 }),
  ),
})).value;

export interface OpSpec {
  kind: OpKind;
  path: string[];
  value: unknown;
  node: string;
  wall: number;
}

export const opSpecArb: fc.Arbitrary<OpSpec> = fc.record({
  kind: fc.constantFrom<OpKind>('set', 'set', 'delete', 'incr', 'incr', 'append'),
  path: pathArb,
  value: valueArb,
  node: fc.constantFrom('n1', 'n2', 'n3'),
  wall: fc.integer({ min: 0, max: 12 }),
});

/**
 * Turns specs into ops as hubs would stamp them: per node, stamps strictly increasing with
 * contiguous seqs.
 */
export function stampOps(specs: readonly OpSpec[]): Op[] {
  const byNode = new Map<string, OpSpec[]>();
  for (const spec of specs) (byNode.get(spec.node) ?? byNode.set(spec.node, []).get(spec.node)!).push(spec);
  const ops: Op[] = [];
  for (const [node, list] of byNode) {
    list.sort((a, b) => a.wall - b.wall);
    let wall = -1;
    let count = 0;
    list.forEach((spec, index) => {
      if (spec.wall > wall) {
        wall = spec.wall;
        count = 0;
      } else count++;
      const base = { kind: spec.kind, path: Object.freeze([...spec.path]), seq: index + 1, stamp: { wall, count, node: node as NodeId } };
      if (spec.kind === 'delete' || spec.kind === 'ttl') ops.push(base);
      else if (spec.kind === 'incr') ops.push({ ...base, value: typeof spec.value === 'number' ? spec.value : 1 });
      else ops.push({ ...base, value: toStoredValue(spec.value, spec.path.join('.')) });
    });
  }
  return ops;
}

/** An op spec that may touch expiry: a ttl (relative ms) on set/incr/append, keepTtl on set, or a `ttl` op. */
export interface ExpiringOpSpec extends OpSpec {
  ttl: number | undefined;
  keepTtl: boolean;
  /** For a `ttl` op: clear the expiry instead of arming it. */
  clear: boolean;
}

export const expiringOpSpecArb: fc.Arbitrary<ExpiringOpSpec> = fc.record({
  kind: fc.constantFrom<OpKind>('set', 'set', 'delete', 'incr', 'incr', 'append', 'ttl', 'ttl'),
  path: pathArb,
  value: valueArb,
  node: fc.constantFrom('n1', 'n2', 'n3'),
  wall: fc.integer({ min: 0, max: 12 }),
  ttl: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined, freq: 2 }),
  keepTtl: fc.boolean(),
  clear: fc.boolean(),
});

/**
 * Turns expiring specs into ops as hubs would stamp them (see `stampOps`): an expiry is the
 * op's wall plus its ttl; `keepTtl` only on a set without one; a `ttl` op arms `wall + ttl`
 * (or clears, or arms `wall + 3` when it drew no ttl).
 */
export function stampExpiringOps(specs: readonly ExpiringOpSpec[]): Op[] {
  const plain = stampOps(specs);
  // stampOps sorts each node's specs by wall (stably) before numbering: match them back the same way.
  const byNode = new Map<string, ExpiringOpSpec[]>();
  for (const spec of specs) (byNode.get(spec.node) ?? byNode.set(spec.node, []).get(spec.node)!).push(spec);
  for (const list of byNode.values()) list.sort((a, b) => a.wall - b.wall);
  return plain.map((op) => {
    const spec = byNode.get(op.stamp.node)![op.seq - 1]!;
    switch (op.kind) {
      case 'ttl':
        return { ...op, value: spec.clear ? null : op.stamp.wall + (spec.ttl ?? 3) };
      case 'delete':
        return op;
      case 'set':
        if (spec.ttl !== undefined) return { ...op, expireAt: op.stamp.wall + spec.ttl };
        return spec.keepTtl ? { ...op, keepTtl: true as const } : op;
      default:
        return spec.ttl !== undefined ? { ...op, expireAt: op.stamp.wall + spec.ttl } : op;
    }
  });
}
