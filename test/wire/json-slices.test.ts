import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../lib/core/value.js';
import { jsonSlices } from '../../lib/wire/json-slices.js';

describe('jsonSlices', () => {
  it('joined, is exactly JSON.stringify, however small the slices and the natively encoded subtrees', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 16 }), (value, sliceChars, nativeValues) => {
        const slices = [...jsonSlices(value as JsonValue, sliceChars, nativeValues)];
        expect(slices.join('')).toBe(JSON.stringify(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves out undefined members of objects and writes undefined array items as null, as JSON.stringify does', () => {
    // Messages are built of optional fields (a snapshot's): those left undefined must not show.
    const withHoles = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.constant(undefined), fc.integer(), fc.string(), fc.array(tie('value')), fc.dictionary(fc.string(), tie('value'))),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), withHoles), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 4 }), (value, sliceChars, nativeValues) => {
        expect([...jsonSlices(value as JsonValue, sliceChars, nativeValues)].join('')).toBe(JSON.stringify(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('cuts a large value into slices of about the size asked, none empty', () => {
    const sessions: Record<string, JsonValue> = {};
    for (let i = 0; i < 20_000; i++) sessions[`s${i}`] = { user: i, tags: ['a', 'b'], data: 'x'.repeat(40) };
    const value = { sessions, list: Array.from({ length: 5000 }, (_, i) => i) };
    const slices = [...jsonSlices(value, 64 * 1024)];
    expect(slices.join('')).toBe(JSON.stringify(value));
    expect(slices.length).toBeGreaterThan(10);
    for (const slice of slices.slice(0, -1)) {
      expect(slice.length).toBeGreaterThanOrEqual(64 * 1024);
      expect(slice.length).toBeLessThan(64 * 1024 + 200_000); // a slice and one small subtree
    }
  });
});
