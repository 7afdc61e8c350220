// How long a hub stops answering while it sends a snapshot: a cluster primary holding a store
// of about `MB` megabytes of JSON (sessions of ~200 bytes), one of its workers killed and
// respawned. Reports the longest pause of the primary's event loop while the new worker takes
// its snapshot (`monitorEventLoopDelay`), how long the worker waited, and the primary's RSS
// before and at its peak; then the same for a thread of a pool in the primary joining, and for a
// worker respawned while the primary writes under the same parent. With `ttl`, every session expires (in an hour):
// their expiry times travel in the snapshot too. Run on its own:
// `node test/bench/snapshot-stall.mjs [MB] [ttl]`; part of `npm run bench` at 200 MB, both ways.
// Prints one line `RESULT <json>` when run as a script.
import { execFileSync } from 'node:child_process';
import cluster from 'node:cluster';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import collective from 'collective';
import { table } from './harness.mjs';
import { fillSessions, SESSION } from './sessions.mjs';

// Kills the primary's worker and waits for the new one to be ready: the longest pause of the
// primary's event loop meanwhile, and how long it took.
async function respawn(hub) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const joined = new Promise((resolve) => hub.once('member:up', resolve));
  const ready = new Promise((resolve) => cluster.once('message', (_worker, message) => message?.ready && resolve()));
  const started = Date.now();
  for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGKILL');
  await joined;
  await ready;
  const waitMs = Date.now() - started;
  delay.disable();
  return { longestPauseMs: delay.max / 1e6, waitMs };
}

async function primary(megabytes, ttl) {
  const hub = await collective.cluster({ workers: 1 });
  const options = ttl ? { ttl: 3_600_000 } : undefined;
  // Folded and collected first: the pause measured is the snapshot's.
  const sessions = await fillSessions(hub, megabytes, { options });
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
  const quiet = await respawn(hub);
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  // Then, still quiet, a thread joining the primary's hub (collective.pool() in the primary):
  // its snapshot goes over a MessagePort.
  const pool = hub.pool({ filename: new URL('./thread-task.mjs', import.meta.url).href, minThreads: 1, maxThreads: 1 });
  const threadDelay = monitorEventLoopDelay({ resolution: 5 });
  threadDelay.enable();
  const threadStarted = Date.now();
  await pool.run({}, { name: 'warm' });
  const threadWaitMs = Date.now() - threadStarted;
  threadDelay.disable();
  await pool.destroy();
  // Again, while the primary writes 10k sessions a second under the same parent (a rolling
  // restart in a live app): GC keeps folding them into the parent the snapshot is reading.
  // The baseline: the same writes for 5 s with no worker joining (GC's folds of them pause the
  // event loop too).
  let writes = 0;
  const writer = setInterval(() => {
    for (let j = 0; j < 100; j++) hub.set(['sessions', `s${(writes + j * 7919) % sessions}`], { ...SESSION, user: -writes - j }, options);
    writes += 100;
  }, 10);
  const writingDelay = monitorEventLoopDelay({ resolution: 5 });
  writingDelay.enable();
  await new Promise((resolve) => setTimeout(resolve, 5000));
  writingDelay.disable();
  const live = await respawn(hub);
  clearInterval(writer);
  await hub.close();
  return {
    megabytes,
    sessions,
    longestPauseMs: quiet.longestPauseMs,
    workerWaitMs: quiet.waitMs,
    writingLongestPauseMs: live.longestPauseMs,
    writingAloneLongestPauseMs: writingDelay.max / 1e6,
    writingWorkerWaitMs: live.waitMs,
    rssBeforeMb: rssBefore / 1e6,
    rssPeakMb: rssPeak / 1e6,
    threadLongestPauseMs: threadDelay.max / 1e6,
    threadWaitMs,
  };
}

async function worker() {
  await collective.ready({ timeout: 120_000 });
  process.send({ ready: true });
}

/** Runs the measurement in a process of its own (a cluster primary must own its process). */
export function runSnapshotStallBench({ megabytes = 200, ttl = false } = {}) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(megabytes), ...(ttl ? ['ttl'] : [])], { encoding: 'utf8', timeout: 600_000 });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`snapshot stall bench printed no result:\n${out}`);
  const result = JSON.parse(line.slice('RESULT '.length));
  table(`a worker respawned next to ${result.sessions} sessions${ttl ? ' with a ttl' : ''} (${megabytes} MB of JSON)`, [
    ['longest pause of the primary while the worker takes its snapshot', { ms: result.longestPauseMs }, undefined, undefined, '< 50 ms'],
    ['until the new worker is ready', { ms: result.workerWaitMs }],
    ['the same while the primary writes 10k sessions/s under the same parent', { ms: result.writingLongestPauseMs }, 'the same writes, no worker joining (5 s)', { ms: result.writingAloneLongestPauseMs }, '< 50 ms'],
    ['until that worker is ready', { ms: result.writingWorkerWaitMs }],
    ["the primary's RSS at its peak", { mb: result.rssPeakMb }, 'before the worker was killed', { mb: result.rssBeforeMb }],
    ['longest pause of the primary while a thread of its pool takes its snapshot', { ms: result.threadLongestPauseMs }, undefined, undefined, '< 50 ms'],
    ['until the thread is ready', { ms: result.threadWaitMs }],
  ]);
  return result;
}

if (cluster.isWorker) await worker();
else if (import.meta.url === `file://${process.argv[1]}`) console.log(`RESULT ${JSON.stringify(await primary(Number(process.argv[2] ?? 200), process.argv[3] === 'ttl'))}`);
