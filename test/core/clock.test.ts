import { describe, expect, it } from 'vitest';
import { HybridClock, compareStamps, type NodeId, type Stamp } from '../../lib/core/clock.js';

const stamp = (wall: number, count: number, node: string): Stamp => ({ wall, count, node: node as NodeId });

describe('HybridClock', () => {
  it('follows the wall clock while it moves forward', () => {
    let now = 100;
    const clock = new HybridClock('a' as NodeId, () => now);
    expect(clock.tick()).toEqual(stamp(100, 0, 'a'));
    now = 105;
    expect(clock.tick()).toEqual(stamp(105, 0, 'a'));
  });

  it('never goes backwards when the wall clock does', () => {
    let now = 1000;
    const clock = new HybridClock('a' as NodeId, () => now);
    const stamps = [clock.tick()];
    now = 10; // the wall clock jumps back
    stamps.push(clock.tick(), clock.tick());
    now = 1000;
    stamps.push(clock.tick());
    now = 1001;
    stamps.push(clock.tick());
    for (let i = 1; i < stamps.length; i++) expect(compareStamps(stamps[i]!, stamps[i - 1]!)).toBeGreaterThan(0);
    expect(stamps[1]).toEqual(stamp(1000, 1, 'a'));
  });

  it('moves past every stamp it observes', () => {
    const clock = new HybridClock('a' as NodeId, () => 5);
    const remote = stamp(9000, 7, 'z');
    clock.observe(remote);
    expect(compareStamps(clock.tick(), remote)).toBeGreaterThan(0);
    clock.observe(stamp(1, 0, 'y')); // an old stamp changes nothing
    expect(clock.tick()).toEqual(stamp(9000, 9, 'a'));
  });

  it('has a ceiling above every stamp at its reading, whatever the node', () => {
    const clock = new HybridClock('a' as NodeId, () => 50);
    clock.tick();
    expect(compareStamps(clock.ceiling(), stamp(50, 0, 'zzzzzz'))).toBeGreaterThan(0);
    expect(compareStamps(clock.tick(), clock.ceiling())).toBeLessThanOrEqual(0);
    const before = clock.ceiling();
    expect(compareStamps(clock.tick(), before)).toBeGreaterThan(0);
  });
});

describe('compareStamps', () => {
  it('orders by wall, then counter, then node id', () => {
    const ordered = [stamp(1, 5, 'z'), stamp(2, 0, 'a'), stamp(2, 1, 'a'), stamp(2, 1, 'b'), stamp(3, 0, 'a')];
    const shuffled = [ordered[3]!, ordered[0]!, ordered[4]!, ordered[2]!, ordered[1]!];
    expect(shuffled.sort(compareStamps)).toEqual(ordered);
    expect(compareStamps(stamp(1, 1, 'a'), stamp(1, 1, 'a'))).toBe(0);
  });
});
