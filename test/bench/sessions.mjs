// The store the stall benches time snapshots of: sessions of about 200 bytes of JSON under one
// parent, written, then folded and collected before anything is timed.
import { collectGarbage } from './harness.mjs';

/** One session as the stall benches write it (with its `user` number). */
export const SESSION = { user: 0, data: 'x'.repeat(150), tags: ['a', 'b'] };

/** How many sessions make `megabytes` of JSON. */
export function sessionsIn(megabytes) {
  return Math.round((megabytes * 1e6) / JSON.stringify({ s0: SESSION }).length);
}

/**
 * Writes `megabytes` of sessions under `sessions` on `hub` (with `options` on every write; a
 * turn to the event loop every `yieldEvery` writes, for a hub whose tier must go on meanwhile),
 * then waits until GC folded them (op records, then nodes) and collects what the fill left, so
 * that a pause timed next is not a collection of the fill's garbage (measured on the ttl case:
 * a major collection of 1.1 GB of a 1.4 GB heap landed in the window or not as the fill's
 * allocation changed, 150-300 ms against 30-40 ms). Returns how many sessions it wrote.
 */
export async function fillSessions(hub, megabytes, { options, yieldEvery = Infinity } = {}) {
  const sessions = sessionsIn(megabytes);
  for (let i = 0; i < sessions; i++) {
    hub.set(['sessions', `s${i}`], { ...SESSION, user: i }, options);
    if ((i + 1) % yieldEvery === 0) await new Promise(setImmediate);
  }
  await hub.flush();
  while (hub.stats().metadata.ops > 0 || hub.stats().metadata.nodes > 2) await new Promise((r) => setTimeout(r, 20));
  collectGarbage();
  return sessions;
}
