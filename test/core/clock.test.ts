import { describe, expect, it, onTestFinished, vi } from 'vitest';
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

describe('HybridClock on the system clock', () => {
  // Date.now is read through at every reading, so a spy on it is what the clock reads.
  function spiedClock(start: number): { clock: HybridClock; reads: () => number; set: (now: number) => void } {
    let now = start;
    let reads = 0;
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => {
      reads++;
      return now;
    });
    onTestFinished(() => spy.mockRestore());
    return { clock: new HybridClock('a' as NodeId), reads: () => reads, set: (next) => (now = next) };
  }

  it('shares one reading among at most 32 stamps of a batch, still strictly ordered', () => {
    const { clock, reads, set } = spiedClock(1000);
    const stamps = clock.sharingReadings(() => {
      const made = [clock.tick()];
      set(1005); // within the batch, the reading taken stands for up to 32 stamps
      for (let i = 1; i < 100; i++) made.push(clock.tick());
      return made;
    });
    expect(reads()).toBe(4);
    for (let i = 1; i < stamps.length; i++) expect(compareStamps(stamps[i]!, stamps[i - 1]!)).toBeGreaterThan(0);
    expect(stamps[31]).toEqual(stamp(1000, 31, 'a'));
    expect(stamps[32]).toEqual(stamp(1005, 0, 'a'));
  });

  it('reads the clock at every stamp outside a batch, and for a stamp that asks for it fresh', () => {
    const { clock, reads, set } = spiedClock(1000);
    expect(clock.tick()).toEqual(stamp(1000, 0, 'a'));
    set(2000);
    expect(clock.tick()).toEqual(stamp(2000, 0, 'a'));
    clock.sharingReadings(() => {
      expect(clock.tick()).toEqual(stamp(2000, 1, 'a'));
      set(3000);
      expect(clock.tick(true)).toEqual(stamp(3000, 0, 'a'));
    });
    set(4000);
    expect(clock.tick()).toEqual(stamp(4000, 0, 'a'));
    expect(reads()).toBe(5);
  });

  it('reads an injected clock at every stamp, batch or not', () => {
    let now = 10;
    let reads = 0;
    const clock = new HybridClock('a' as NodeId, () => (reads++, now));
    clock.sharingReadings(() => {
      clock.tick();
      now = 20;
      expect(clock.tick()).toEqual(stamp(20, 0, 'a'));
    });
    expect(reads).toBe(2);
  });
});
