import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BaseKeys, listedKeysOf, type BaseReading } from '../../lib/core/base-keys.js';
import type { JsonValue } from '../../lib/core/value.js';
import { jsonSlices } from '../../lib/wire/json-slices.js';

// The keys GC lists for a parent of many (what a snapshot walks instead of Object.keys) against
// a plain set of the keys held: every key held listed exactly once, whatever was deleted and
// added again, and the list compacted once enough are gone (it compacts past 1024 gone keys).
const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000);

const stepsArb = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 2999 }), fc.nat(1999)), { minLength: 1, maxLength: 6000 });

function listed(keys: BaseKeys): readonly string[] {
  const holder = {};
  keys.listFor(holder);
  return listedKeysOf(holder)!;
}

describe('BaseKeys', () => {
  it('lists every key held exactly once, with no more gone keys than its compaction bound', () => {
    fc.assert(
      fc.property(stepsArb, fc.integer({ min: 0, max: 2000 }), (steps, initial) => {
        const held = new Set<string>();
        for (let i = 0; i < initial; i++) held.add(`k${i}`);
        let keys = new BaseKeys([...held]);
        let copied: { list: string[]; held: Set<string> } | undefined;
        for (const [add, index, copyAt] of steps) {
          const key = `k${index}`;
          if (add && !held.has(key)) {
            held.add(key);
            keys.added(key);
          } else if (!add && held.has(key)) {
            held.delete(key);
            keys.removed(key, held.size);
          }
          // Now and then a copy, after which the original (and its list, held by a snapshot) must not change.
          if (copyAt === 0) {
            copied = { list: [...listed(keys)], held: new Set(held) };
            const original = keys;
            keys = keys.copy();
            original.added('never-seen');
          }
        }
        const list = listed(keys);
        expect(new Set(list).size, 'no key listed twice').toBe(list.length);
        for (const key of held) expect(list.includes(key), key).toBe(true);
        expect(list.length - held.size, 'gone keys still listed').toBeLessThanOrEqual(1024 + held.size / 4 + 1);
        if (copied !== undefined) for (const key of copied.held) expect(copied.list.includes(key)).toBe(true);
      }),
      { numRuns: Math.max(20, Math.floor(runs / 20)) },
    );
  });

  it('compacts: after most keys are deleted the list holds about the keys left', () => {
    const keys = new BaseKeys(Array.from({ length: 10_000 }, (_, i) => `k${i}`));
    for (let i = 0; i < 9_000; i++) keys.removed(`k${i}`, 10_000 - i - 1);
    expect(listed(keys).length).toBeLessThanOrEqual(1_000 + 1024 + 1_000 / 4 + 1);
    // A key deleted and added again is listed once, before and after a compaction.
    keys.added('k5');
    expect(listed(keys).filter((key) => key === 'k5')).toHaveLength(1);
  });

  it('keeps, for each reading taken, the object as it was then, however the folds change it after', () => {
    const stepArb = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), key: fc.integer({ min: 0, max: 40 }), value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('read' as const), overlay: fc.array(fc.tuple(fc.integer({ min: 0, max: 45 }), fc.option(fc.integer(), { nil: undefined })), { maxLength: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 80 }), (steps) => {
        const base: Record<string, JsonValue> = {};
        const keys = new BaseKeys([]);
        const readings: { reading: BaseReading; expected: Record<string, JsonValue> }[] = [];
        for (const step of steps) {
          if (step.kind === 'read') {
            const overlay = new Map(step.overlay.map(([key, value]) => [`k${key}`, value] as const));
            const expected = { ...base };
            for (const [key, value] of overlay) {
              if (value === undefined) delete expected[key];
              else expected[key] = value;
            }
            readings.push({ reading: keys.read(base, overlay.size > 0 ? overlay : undefined), expected });
            continue;
          }
          const key = `k${step.key}`;
          const had = Object.hasOwn(base, key);
          if (step.kind === 'write') {
            keys.changing(key, base);
            base[key] = step.value;
            if (!had) keys.added(key);
          } else if (had) {
            keys.changing(key, base);
            delete base[key];
            keys.removed(key, Object.keys(base).length);
          }
        }
        for (const { reading, expected } of readings) {
          expect(JSON.parse(JSON.stringify(reading))).toEqual(expected);
          expect(JSON.parse([...jsonSlices({ r: reading as unknown as JsonValue }, 4, 1)].join(''))).toEqual({ r: expected });
        }
      }),
      { numRuns: runs },
    );
  });
});
