import { describe, expect, it } from 'vitest';
import { TimeHeap } from '../../lib/core/time-heap.js';

// A generator of the same pseudo-random numbers every run.
function numbers(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state;
  };
}

// Takes every entry off: [time, key] in the order they come.
function drain(heap: TimeHeap): [number, string][] {
  const out: [number, string][] = [];
  while (heap.size > 0) {
    out.push([heap.top(), heap.topKey()]);
    heap.pop();
  }
  return out;
}

describe('TimeHeap', () => {
  it('gives back entries earliest first across many chunks, through pops, pushes and trims between them', () => {
    const next = numbers(7);
    const heap = new TimeHeap();
    const model: [number, string][] = [];
    const base = 1_700_000_000_000;
    // Past several chunks of 16384 entries, then down below one and up again.
    for (let i = 0; i < 50_000; i++) {
      const time = base + (next() % 1_000_000);
      heap.push(time, `k${i}`);
      model.push([time, `k${i}`]);
    }
    model.sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < 45_000; i++) {
      expect(heap.top()).toBe(model[i]![0]);
      heap.pop();
    }
    heap.trim();
    const rest = model.slice(45_000);
    for (let i = 0; i < 30_000; i++) {
      const time = base + (next() % 1_000_000);
      heap.push(time, `j${i}`);
      rest.push([time, `j${i}`]);
    }
    expect(heap.size).toBe(rest.length);
    const times = drain(heap).map(([time]) => time);
    expect(times).toEqual(rest.map(([time]) => time).sort((a, b) => a - b));
    expect(heap.top()).toBe(Number.POSITIVE_INFINITY);
  });

  it('pairs each key with its time, and keeps both once a time past 32-bit offsets widens every chunk', () => {
    const next = numbers(11);
    const heap = new TimeHeap();
    const times = new Map<string, number>();
    for (let i = 0; i < 40_000; i++) {
      // Past the 24 days of 32-bit ms offsets from the first time, half way through.
      const time = (i < 20_000 ? 1000 : 3_000_000_000) + (next() % 100_000);
      heap.push(time, `k${i}`);
      times.set(`k${i}`, time);
    }
    const out = drain(heap);
    expect(out).toHaveLength(40_000);
    for (let i = 1; i < out.length; i++) expect(out[i]![0]).toBeGreaterThanOrEqual(out[i - 1]![0]);
    for (const [time, key] of out) expect(time).toBe(times.get(key));
  });

  it('drops in a sweep over several calls only the entries it refuses, pushes and pops between them, and keeps time order', () => {
    const next = numbers(13);
    const heap = new TimeHeap();
    // Keys ending in 0 are refused (stale).
    const keep = (_at: number, key: string): boolean => !key.endsWith('0');
    const held = new Map<string, number>();
    const push = (key: string): void => {
      const time = 1000 + (next() % 100_000);
      heap.push(time, key);
      held.set(key, time);
    };
    for (let i = 0; i < 40_000; i++) push(`k${i}`);
    let from = 0;
    for (let call = 0; from < heap.size; call++) {
      from = heap.sweep(from, 1000, keep);
      push(`p${call}`);
      if (call % 3 === 0) {
        const key = heap.topKey();
        expect(heap.top()).toBe(Math.min(...held.values()));
        heap.pop();
        held.delete(key);
      }
    }
    const out = drain(heap);
    const kept = [...held].filter(([key]) => keep(0, key));
    // Every entry kept is there with its time; entries moved while the sweep went on may have
    // been missed, never more than a few.
    const timeOf = new Map(out.map(([time, key]) => [key, time]));
    for (const [key, time] of kept) expect(timeOf.get(key)).toBe(time);
    expect(out.length - kept.length).toBeLessThan(held.size / 100);
    for (let i = 1; i < out.length; i++) expect(out[i]![0]).toBeGreaterThanOrEqual(out[i - 1]![0]);
  });

  it('visits every entry at or before a time and no other, without taking any off', () => {
    const heap = new TimeHeap();
    for (let i = 0; i < 20_000; i++) heap.push(1000 + ((i * 7919) % 20_000), `k${i}`);
    const seen: number[] = [];
    heap.visitUpTo(1000 + 4999, (at) => seen.push(at));
    expect(seen).toHaveLength(5000);
    expect(Math.max(...seen)).toBe(1000 + 4999);
    expect(heap.size).toBe(20_000);
  });
});
