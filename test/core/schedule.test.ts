import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bucket } from '../../lib/core/bucket.js';
import { CEILING_NODE, type NodeId } from '../../lib/core/clock.js';
import { ExpirySchedule } from '../../lib/core/expiry-schedule.js';
import { ABSENT, TreeNode } from '../../lib/core/node.js';
import { Schedule, type Due } from '../../lib/core/schedule.js';
import { ReplicatedTree } from '../../lib/core/tree.js';
import type { JsonValue } from '../../lib/core/value.js';

const runs = Number(process.env.COLLECTIVE_PROPERTY_RUNS ?? 500);

// Takes every entry off, earliest first.
function drain(schedule: Schedule): Due[] {
  const out: Due[] = [];
  for (let due = schedule.pop(); due !== undefined; due = schedule.pop()) out.push(due);
  return out;
}

const stepArb = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), at: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ kind: fc.constant('pop' as const) }),
  fc.record({ kind: fc.constant('sweep' as const), count: fc.integer({ min: 0, max: 8 }) }),
);

describe('Schedule', () => {
  it('keeps its entries in time order through sweeps over several calls, adds and pops between them; a sweep drops only what it refuses', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 80 }), fc.integer({ min: 2, max: 5 }), (steps, modulus) => {
        const schedule = new Schedule();
        // Entries whose time is a multiple of `modulus` are the stale ones.
        const keep = (due: Due): boolean => due.at % modulus !== 0;
        const held: Due[] = [];
        let cursor = 0;
        for (const step of steps) {
          if (step.kind === 'add') {
            const due = { at: step.at, path: [`k${held.length}`] };
            schedule.add(due);
            held.push(due);
          } else if (step.kind === 'pop') {
            const earliest = Math.min(...held.map((due) => due.at));
            const popped = schedule.pop();
            if (held.length === 0) expect(popped).toBeUndefined();
            else {
              expect(popped!.at).toBe(earliest);
              held.splice(held.indexOf(popped!), 1);
            }
          } else {
            cursor = schedule.sweep(cursor, step.count, keep);
            for (let i = held.length - 1; i >= 0; i--) if (!keep(held[i]!) && !contains(schedule, held[i]!)) held.splice(i, 1);
            if (cursor >= schedule.size) cursor = 0;
          }
          expect(schedule.size).toBe(held.length);
        }
        // A whole sweep in one call leaves exactly what it keeps, still in order.
        expect(schedule.sweep(0, Number.POSITIVE_INFINITY, keep)).toBe(schedule.size);
        const rest = drain(schedule);
        expect(rest.map((due) => due.at)).toEqual(held.filter(keep).map((due) => due.at).sort((a, b) => a - b));
      }),
      { numRuns: runs },
    );
  });
});

// Whether `due` is still in `schedule`, seen through a sweep that keeps every entry (and so
// changes nothing).
function contains(schedule: Schedule, due: Due): boolean {
  let found = false;
  schedule.sweep(0, Number.POSITIVE_INFINITY, (entry) => {
    if (entry === due) found = true;
    return true;
  });
  return found;
}

describe('ExpirySchedule', () => {
  it('drops the entries of kids GC folded with their expiries over several rounds, a bounded share each, never an entry that holds', () => {
    const root = new TreeNode(ABSENT);
    const schedule = new ExpirySchedule(root);
    // Kids of their own, each with its expiry in a bucket: their entries hold.
    const other = new TreeNode(ABSENT);
    root.addKid('other', other);
    for (let i = 0; i < 100; i++) {
      const kid = new TreeNode(ABSENT);
      kid.bucket = new Bucket(2, { value: 1, armed: [{ path: [], at: 500 + i }] }, undefined, false);
      other.addKid(`k${i}`, kid);
      schedule.track(['other', `k${i}`], 2, kid.bucket.current(kid.start).armed, kid);
    }
    // Sessions, each with its expiry in a bucket.
    const kids = 40_000;
    const sessions: TreeNode[] = [];
    for (let i = 0; i < kids; i++) {
      const kid = new TreeNode(ABSENT);
      sessions.push(kid);
      schedule.track(['sessions', `s${i}`], 2, [{ path: [], at: 1000 + i }], kid);
    }
    const perRound = 100;
    let largestDrop = 0;
    let sweeping = 0;
    for (let i = 0; i < kids; i += perRound) {
      // A GC round folds `perRound` kids with their expiries, then tells the schedule.
      for (let j = i; j < i + perRound; j++) {
        sessions[j]!.armedBy!.foldedAway = true;
        schedule.foldedKid();
      }
      const before = schedule.size;
      schedule.collected();
      const dropped = before - schedule.size;
      largestDrop = Math.max(largestDrop, dropped);
      if (dropped > 0) sweeping++;
    }
    // A round checks at most max(4096, 4 per kid it folded) entries.
    expect(largestDrop).toBeLessThanOrEqual(4096);
    expect(sweeping).toBeGreaterThan(2);
    // Entries of folded kids do not pile up: a sweep starts once they are half of all.
    expect(schedule.size).toBeLessThan(kids / 2);
    // Every entry that holds is still there: the sweeps dropped only folded kids' entries.
    const due = schedule.takeDue(Number.POSITIVE_INFINITY);
    expect(due.map((entry) => entry.path.join('.')).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `other.k${i}`).sort());
  });
});

describe('a tree rebuilt from a value with expiries (a member adopting a snapshot)', () => {
  it('drops the schedule entries of the kids GC folds with their expiries', () => {
    const sessions: Record<string, JsonValue> = {};
    const armed: Due[] = [];
    const later = Date.now() + 3_600_000;
    for (let i = 0; i < 5000; i++) {
      sessions[`s${i}`] = { user: i };
      armed.push({ at: later + i, path: ['sessions', `s${i}`] });
    }
    const tree = ReplicatedTree.fromValue({ sessions }, { wall: 10, count: 0, node: 'a' as NodeId }, armed);
    expect(tree.scheduledExpiries).toBe(5000);
    tree.collect({ wall: 20, count: 0, node: CEILING_NODE });
    // One entry left: the parent's, for the kids it folded with their expiries.
    expect(tree.scheduledExpiries).toBe(1);
    expect(tree.get(['sessions', 's4999'])).toEqual({ user: 4999 });
    expect(tree.ttl(['sessions', 's4999'])).toBeGreaterThan(3_500_000);
  });
});

describe('a tree whose expiring keys are written again and again (sessions with a sliding ttl)', () => {
  it('keeps its schedule near the expiries armed, and each still comes due once, at its latest time', () => {
    // As a hub alone or a member applies writes: final, no op records, no GC round.
    const tree = new ReplicatedTree();
    const hot = 2000;
    const ttl = 3_600_000;
    let time = 1_000_000;
    // One session also holds an expiry below it (its cart), armed once: writes at the session's
    // own path arm there again and again, and must not take the cart's with them.
    tree.applyFinal({ kind: 'set', path: ['sessions', 's0'], value: { cart: [1] }, expireAt: time + ttl }, time);
    tree.applyFinal({ kind: 'ttl', path: ['sessions', 's0', 'cart'], value: time + 60_000 }, time);
    for (let round = 0; round < 50; round++) {
      time += 10;
      for (let i = 1; i < hot; i++) tree.applyFinal({ kind: 'set', path: ['sessions', `s${i}`], value: { round }, expireAt: time + ttl }, time);
      tree.applyFinal({ kind: 'ttl', path: ['sessions', 's0'], value: time + ttl }, time);
    }
    // 100k expiries armed, 2001 armed now: without a sweep every one of them stays scheduled
    // until its time.
    expect(tree.scheduledExpiries).toBeLessThan(4 * hot);
    const due = tree.takeDue(Number.POSITIVE_INFINITY);
    const times = new Map(due.map((entry) => [entry.path.join('.'), entry.at]));
    expect(due).toHaveLength(hot + 1);
    expect(times.get('sessions.s0.cart')).toBe(1_000_000 + 60_000);
    expect(times.get('sessions.s0')).toBe(time + ttl);
    for (let i = 1; i < hot; i++) expect(times.get(`sessions.s${i}`)).toBe(time + ttl);
  });
});
