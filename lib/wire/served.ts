/**
 * The members a worker serves itself (the threads of its pool), as it tells its hub in a
 * `serves` message (wire/member.ts): for the hub's stats and dashboard, nothing else.
 */

import { isCount, isRecord } from './checks.js';

/**
 * A member a worker serves itself (a thread of its pool), as it tells its hub for the hub's
 * stats and dashboard: its number at the worker, pid and thread id, when it joined, its writes,
 * those in flight, the bytes queued for it, and `y: 0` while it waits for its snapshot.
 */
export interface ServedMember {
  n: number;
  p?: number;
  th?: number;
  s: number;
  w: number;
  q: number;
  b: number;
  y?: 0;
}

/** The most served members one `serves` message may list. */
export const MAX_SERVED_MEMBERS = 1024;

/** A worker's list of the members it serves, checked: bounded, every field a count, nothing else kept. */
export function decodeServed(input: unknown): ServedMember[] {
  if (!Array.isArray(input) || input.length > MAX_SERVED_MEMBERS) throw new TypeError('malformed served members');
  return input.map((entry: unknown) => {
    if (!isRecord(entry)) throw new TypeError('malformed served member');
    const { n, p, th, s, w, q, b, y } = entry;
    if (!isCount(n, 1) || !isCount(s) || !isCount(w) || !isCount(q) || !isCount(b) || (p !== undefined && !isCount(p)) || (th !== undefined && !isCount(th)) || (y !== undefined && y !== 0)) {
      throw new TypeError('malformed served member');
    }
    const served: ServedMember = { n, s, w, q, b };
    if (p !== undefined) served.p = p;
    if (th !== undefined) served.th = th;
    if (y === 0) served.y = 0;
    return served;
  });
}

