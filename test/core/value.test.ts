import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adoptValue, jsonEqual, toStoredValue, type JsonValue } from '../../lib/core/value.js';

class Point {
  x = 1;
}

function isDeepFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

describe('toStoredValue', () => {
  it('accepts JSON values and returns a deep-frozen copy', () => {
    const input = { a: [1, 'two', { three: true }], b: null, c: { d: -0.5 } };
    const stored = toStoredValue(input, 'x');
    expect(stored).toEqual(input);
    expect(stored).not.toBe(input);
    expect(isDeepFrozen(stored)).toBe(true);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('is not affected by a later mutation of the caller object', () => {
    const input = { list: [1, 2], nested: { n: 1 } };
    const stored = toStoredValue(input, 'x');
    input.list.push(3);
    input.nested.n = 99;
    expect(stored).toEqual({ list: [1, 2], nested: { n: 1 } });
  });

  it('returns primitives as they are', () => {
    for (const value of [0, -3.5, 'text', true, false, null]) expect(toStoredValue(value, 'x')).toBe(value);
  });

  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  it.each([
    ['undefined', undefined, /`undefined` \(undefined\) is not a JSON value/],
    ['a function', () => 1, /is not a JSON value/],
    ['a symbol', Symbol('s'), /is not a JSON value/],
    ['a BigInt', 10n, /`10n` \(bigint\)/],
    ['NaN', Number.NaN, /not a finite number/],
    ['Infinity', Number.POSITIVE_INFINITY, /not a finite number/],
    ['-Infinity', Number.NEGATIVE_INFINITY, /not a finite number/],
    ['a Date', new Date(0), /Date.*not a plain object/],
    ['a Map', new Map(), /Map.*not a plain object/],
    ['a Set', new Set(), /Set.*not a plain object/],
    ['a class instance', new Point(), /Point.*not a plain object/],
    ['a cycle', cyclic, /cycle/],
    ['a nested undefined', { a: { b: undefined } }, /at `.*`\.a\.b|\.a\.b: /],
    ['a sparse array', [1, , 3], /sparse/], // eslint-disable-line no-sparse-arrays
    ['a __proto__ key', JSON.parse('{"__proto__": {"polluted": true}}'), /`__proto__` is never allowed/],
    ['a constructor key', { constructor: 1 }, /`constructor` is never allowed/],
  ])('rejects %s with a TypeError naming the path', (_name, value, message) => {
    expect(() => toStoredValue(value, 'users.42')).toThrow(TypeError);
    expect(() => toStoredValue(value, 'users.42')).toThrow(message);
    expect(() => toStoredValue(value, 'users.42')).toThrow(/users\.42/);
  });

  it('names the offending part of a nested value', () => {
    expect(() => toStoredValue({ a: [1, { b: Number.NaN }] }, 'p')).toThrow(/`p`\.a\[1\]\.b/);
  });

  it('rejects values over the size limit with a RangeError', () => {
    expect(() => toStoredValue('x'.repeat(2000), 'big', 1000)).toThrow(RangeError);
    expect(() => toStoredValue({ list: Array.from({ length: 200 }, () => 12345) }, 'big', 1000)).toThrow(/over the limit of 1000 bytes/);
    expect(toStoredValue('x'.repeat(900), 'ok', 1000)).toHaveLength(900);
    expect(() => toStoredValue('x'.repeat(2 * 1024 * 1024), 'default')).toThrow(
      expect.objectContaining({ code: 'ERR_COLLECTIVE_VALUE_TOO_LARGE' }),
    );
  });

  it('leaves Object.prototype alone', () => {
    expect(() => toStoredValue(JSON.parse('{"a": {"__proto__": {"polluted": 1}}}'), 'x')).toThrow();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('jsonEqual', () => {
  it('compares structurally', () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual(undefined, undefined)).toBe(true);
  });
});

describe('adoptValue (a value fresh from JSON.parse, owned by the caller)', () => {
  it('freezes it in place, deep, without copying', () => {
    const parsed = JSON.parse('{"a":{"b":[1,{"c":"x"}]},"n":null}');
    const adopted = adoptValue(parsed, 'x');
    expect(adopted).toBe(parsed);
    expect(Object.isFrozen(parsed) && Object.isFrozen(parsed.a) && Object.isFrozen(parsed.a.b) && Object.isFrozen(parsed.a.b[1])).toBe(true);
  });

  it('refuses what toStoredValue refuses: a __proto__ key JSON.parse made an own property, a value over the limit', () => {
    expect(() => adoptValue(JSON.parse('{"a":{"__proto__":{"polluted":1}}}'), 'x')).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_VALUE' }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => adoptValue(JSON.parse(JSON.stringify({ s: 'y'.repeat(100) })), 'x', 50)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_VALUE_TOO_LARGE' }));
  });
});

// The size the limit is documented to measure (value.ts): exact for structure and numbers,
// string length for strings. Written here again, independently, to check both walks against.
function roughSize(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'number') return 8;
  if (typeof value === 'boolean') return 5;
  if (value === null) return 4;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + roughSize(item) + 1, 2);
  return Object.entries(value as object).reduce((sum, [key, item]) => sum + key.length + 4 + roughSize(item), 2);
}

function nested(depth: number, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

describe('values past the fast walk (checked again, slowly, where it gives up)', () => {
  it('takes values nested deeper than the fast walk goes, copied and adopted', () => {
    const deep = nested(200, 'leaf');
    const stored = toStoredValue(deep, 'x');
    expect(stored).toEqual(deep);
    expect(isDeepFrozen(stored)).toBe(true);
    // Adopted: the fast walk freezes the first item before it gives up in the second.
    const parsed = JSON.parse(JSON.stringify([{ a: [1, 2] }, deep]));
    expect(adoptValue(parsed, 'x')).toBe(parsed);
    expect(isDeepFrozen(parsed)).toBe(true);
  });

  it('names the part of a deep value it refuses, and finds a cycle deep down', () => {
    expect(() => toStoredValue(nested(100, { bad: undefined }), 'p')).toThrow(/\.bad: /);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toStoredValue(nested(100, cyclic), 'p')).toThrow(/cycle/);
  });

  it('copies own keys only while Object.prototype carries an enumerable key (a polluted prototype)', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      const stored = toStoredValue({ a: 1, b: { c: 2 } }, 'x');
      expect(Object.keys(stored as object)).toEqual(['a', 'b']);
      expect(Object.hasOwn((stored as Record<string, JsonValue>).b as object, 'polluted')).toBe(false);
      // The size counts own keys only: the value fits a limit its own keys fit.
      expect(toStoredValue({ a: 1 }, 'x', 15)).toEqual({ a: 1 });
    } finally {
      delete proto.polluted;
    }
  });

  it('checks a value inside another one (a getter that stores a value while its object is copied)', () => {
    const inner = { deep: [1] };
    let innerCopy: JsonValue | undefined;
    const outer = {
      first: 'a',
      get second() {
        innerCopy = toStoredValue(inner, 'inner');
        return 'b';
      },
      third: { n: 3 },
    };
    const stored = toStoredValue(outer, 'outer', 51);
    expect(stored).toEqual({ first: 'a', second: 'b', third: { n: 3 } });
    expect(innerCopy).toEqual(inner);
    // Each walk counted its own value: the outer one is refused one byte under its size (51).
    expect(() => toStoredValue(outer, 'outer', 50)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_VALUE_TOO_LARGE' }));
  });

  it('accepts exactly the values within the limit, and each comes back equal and deep-frozen', () => {
    const runs = Math.max(200, Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 2000) / 4);
    const values = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 2 }).map((inner) => nested(70, inner)));
    fc.assert(
      fc.property(values, fc.integer({ min: -40, max: 40 }), (value, slack) => {
        const text = JSON.stringify(value);
        const limit = Math.max(1, roughSize(value) + slack);
        const fits = roughSize(value) <= limit;
        const forbidden = /"(__proto__|prototype|constructor)":/.test(text);
        for (const adopt of [false, true]) {
          const input = JSON.parse(text) as unknown;
          const check = () => (adopt ? adoptValue(input, 'x', limit) : toStoredValue(input, 'x', limit));
          if (forbidden) {
            // Refused, for the key or (found first) for the size.
            expect(check).toThrow(expect.objectContaining({ code: expect.stringMatching(fits ? /^ERR_COLLECTIVE_INVALID_VALUE$/ : /^ERR_COLLECTIVE_(INVALID_VALUE|VALUE_TOO_LARGE)$/) }));
            continue;
          }
          if (!fits) {
            expect(check).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_VALUE_TOO_LARGE' }));
            continue;
          }
          const stored = check();
          expect(stored).toEqual(JSON.parse(text));
          expect(isDeepFrozen(stored)).toBe(true);
          if (adopt) expect(stored).toBe(input);
        }
      }),
      { numRuns: runs },
    );
  });
});
