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
      if (spec.kind === 'delete') ops.push(base);
      else if (spec.kind === 'incr') ops.push({ ...base, value: typeof spec.value === 'number' ? spec.value : 1 });
      else ops.push({ ...base, value: toStoredValue(spec.value, spec.path.join('.')) });
    });
  }
  return ops;
}
