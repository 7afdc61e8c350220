// Tasks run by collective.pool() threads in test/bench/threads.mjs.
import collective from 'collective';

/** Warms the thread up: joined, ready. */
export async function warm() {
  await collective.ready();
  return true;
}

/** Writes `ops` increments (batched per turn like any app would), then waits to see `total`. */
export default async function write({ ops, total }) {
  await collective.ready();
  for (let i = 0; i < ops; i += 1000) {
    for (let j = 0; j < 1000; j++) collective.incr('hits');
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Its own writes count once the hub has applied them (as the raw relay's echo does), not
  // when this thread's read-your-writes overlay shows them.
  await collective.flush();
  while (collective.get('hits') !== total) await new Promise((resolve) => setImmediate(resolve));
  return true;
}

/** get() on a hot key for about `ms`: returns gets per second. */
export async function gets({ ms }) {
  await collective.ready();
  let done = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 10_000; i++) collective.get('hits');
    done += 10_000;
  }
  return (done / (performance.now() - start)) * 1000;
}
