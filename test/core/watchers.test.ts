import { describe, expect, it } from 'vitest';
import type { NodeId } from '../../lib/core/clock.js';
import type { Segments } from '../../lib/core/path.js';
import type { JsonValue } from '../../lib/core/value.js';
import { Watchers } from '../../lib/core/watchers.js';

describe('Watchers', () => {
  it('an op reads and calls only the watchers at, under or above its path, and calls only where the value changed', () => {
    const state: Record<string, JsonValue> = { a: 1 };
    const reads: string[] = [];
    const watchers = new Watchers((path: Segments) => {
      reads.push(path.join('.'));
      return path.length === 1 ? state[path[0]!] : 'below';
    });
    const heard: string[] = [];
    for (const path of [['a'], ['a', 'b', 'c'], ['x'], ['y', 'a']]) watchers.add(path, (value, change) => heard.push(`${path.join('.')}: ${change.path}=${JSON.stringify(value)}`));
    reads.length = 0;
    state.a = 2;
    watchers.notify({ kind: 'set', path: ['a', 'b'] }, 'hub' as NodeId);
    expect(reads.sort()).toEqual(['a', 'a.b.c']);
    expect(heard).toEqual(['a: a.b=2']); // a.b.c read the same value as before: no call
  });

  it('counts its watchers, and one removed hears nothing more, removed twice changes nothing', () => {
    const watchers = new Watchers(() => Math.random());
    const heard: string[] = [];
    const stopA = watchers.add(['k'], () => heard.push('a'));
    watchers.add(['k', 'deep'], () => heard.push('b'));
    expect(watchers.size).toBe(2);
    stopA();
    stopA();
    expect(watchers.size).toBe(1);
    watchers.notify({ kind: 'incr', path: ['k'] }, 'hub' as NodeId);
    expect(heard).toEqual(['b']);
    watchers.resync('hub' as NodeId);
    expect(heard).toEqual(['b', 'b']);
  });
});
