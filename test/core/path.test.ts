import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath, isPrefixOf, parsePath, splitPath } from '../../lib/core/path.js';

describe('parsePath', () => {
  it('splits dotted strings and keeps array segments whole', () => {
    expect(parsePath('a.b.c')).toEqual(['a', 'b', 'c']);
    expect(parsePath(['a', 'b.c'])).toEqual(['a', 'b.c']);
    expect(parsePath('solo')).toEqual(['solo']);
  });

  it('returns frozen segments and reuses the parse of a string it has seen', () => {
    const first = parsePath('cache.me.please');
    expect(Object.isFrozen(first)).toBe(true);
    expect(parsePath('cache.me.please')).toBe(first);
  });

  it('copies a caller array so that mutating it later changes nothing', () => {
    const input = ['x', 'y'];
    const segments = parsePath(input);
    input[0] = 'changed';
    expect(segments).toEqual(['x', 'y']);
  });

  it.each([
    ['', /it is empty/],
    ['a..b', /segment 1 is empty/],
    ['.a', /segment 0 is empty/],
    ['a.', /segment 1 is empty/],
    ['__proto__', /`__proto__`, which is never allowed/],
    ['a.constructor', /`constructor`/],
    ['a.prototype.b', /`prototype`/],
  ])('rejects %j with a TypeError quoting it', (path, message) => {
    expect(() => parsePath(path)).toThrow(TypeError);
    expect(() => parsePath(path)).toThrow(message);
    expect(() => parsePath(path)).toThrow(JSON.stringify(path));
  });

  it.each([[[]], [['a', '']], [['a', 1]], [['__proto__']], [42], [null], [undefined], [{ a: 1 }]])(
    'rejects %j',
    (path) => {
      expect(() => parsePath(path)).toThrow(TypeError);
    },
  );

  it('carries a stable code', () => {
    expect(() => parsePath('a..b')).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_PATH' }));
  });

  it('rejects paths deeper than the limit with a RangeError', () => {
    const deep = Array.from({ length: 33 }, (_, i) => `k${i}`).join('.');
    expect(() => parsePath(deep)).toThrow(RangeError);
    expect(() => parsePath(deep)).toThrow(/33 segments, the limit is 32/);
    expect(parsePath('a.b.c', 3)).toHaveLength(3);
    expect(() => parsePath('a.b.c.d', 3)).toThrow(RangeError);
  });
});

describe('splitPath (a string path split afresh, for a cache of its own)', () => {
  it('reads what parsePath reads, and refuses what it refuses, with the same errors', () => {
    const paths = ['a.b.c', 'solo', '', 'a..b', '__proto__', 'a.constructor', Array.from({ length: 33 }, (_, i) => `k${i}`).join('.')];
    for (const path of paths) {
      let parsed: unknown;
      let split: unknown;
      try {
        parsed = parsePath(path);
      } catch (error) {
        parsed = error;
      }
      try {
        split = splitPath(path);
      } catch (error) {
        split = error;
      }
      expect(split).toEqual(parsed);
      if (parsed instanceof Error) expect((split as Error).constructor).toBe(parsed.constructor);
    }
    expect(() => splitPath('a.b.c.d', 3)).toThrow(RangeError);
  });

  it('keeps nothing: each call gives a new array, the caller’s to keep or freeze', () => {
    const first = splitPath('x.y');
    expect(splitPath('x.y')).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(false);
  });
});

describe('path helpers', () => {
  it('formats and compares prefixes', () => {
    expect(formatPath(['a', 'b'])).toBe('a.b');
    expect(isPrefixOf(['a'], ['a', 'b'])).toBe(true);
    expect(isPrefixOf(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(isPrefixOf(['a', 'b'], ['a'])).toBe(false);
    expect(isPrefixOf(['b'], ['a', 'b'])).toBe(false);
  });
});

describe('string paths are split by hand', () => {
  // The reference: what String.prototype.split gives, with the rules every segment must meet.
  const reference = (path: string): string[] | 'invalid' => {
    const parts = path.split('.');
    const valid = path.length > 0 && parts.every((part) => part.length > 0 && !['__proto__', 'prototype', 'constructor'].includes(part));
    return valid ? parts : 'invalid';
  };
  const pathText = fc.array(fc.constantFrom('a', 'b', '.', '..', '__proto__', 'prototype', 'constructor', 'é', '💡', 'k17'), { maxLength: 8 }).map((pieces) => pieces.join(''));

  it('gives the segments split would, or refuses the path, for parsePath and splitPath alike', () => {
    fc.assert(
      fc.property(pathText, (path) => {
        const expected = reference(path);
        for (const parse of [parsePath, splitPath]) {
          if (expected === 'invalid') expect(() => parse(path, 64)).toThrow(TypeError);
          else expect([...parse(path, 64)]).toEqual(expected);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
