/**
 * The time a hub's peer protocol runs on, handed to it by its caller: the system's clock and
 * timers in a hub, virtual time in the simulator (test/helpers/simulator.ts), so that every
 * timeout, heartbeat, anti-entropy round and GC pace of the shipping protocol can be driven
 * deterministically.
 */
export interface MeshClock {
  /** Wall-clock milliseconds (the hybrid clock's physical part). */
  now(): number;
  /** Calls `callback` every `ms` until the returned function is called. */
  every(ms: number, callback: () => void): () => void;
  /** Calls `callback` once after `ms`, unless the returned function is called first. */
  after(ms: number, callback: () => void): () => void;
  /** Calls `callback` once the work of this turn is done: what batches a turn's writes into one frame. */
  defer(callback: () => void): void;
}

/** The system's clock: `Date.now`, and timers that never keep the process alive on their own. */
export const systemClock: MeshClock = {
  now: Date.now,
  every(ms, callback) {
    const timer = setInterval(callback, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  after(ms, callback) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  defer(callback) {
    setImmediate(callback);
  },
};
