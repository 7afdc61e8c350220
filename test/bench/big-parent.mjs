// Writes under one parent of a million keys (a map of sessions) next to the same million keys
// spread over a thousand parents, on a hub alone and on a hub that listens for peers (it folds
// through the mesh's GC): writes/s, and the longest pause of the event loop while writing.
// GC folds the kids written into their parent's value; it must not copy the parent each time.
// Each case runs in a process of its own. Run on its own: `node test/bench/big-parent.mjs`;
// part of `npm run bench`.
import { execFileSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Collective } from 'collective';
import { table } from './harness.mjs';

const KEYS = 1_000_000;
const PER_TURN = 1000; // writes per turn while filling
const WRITE_MS = 5000;
const BATCH = 100; // writes per timer tick while measuring

const turn = () => new Promise(setImmediate);
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

async function measure(shape, tier) {
  const hub = await Collective.start(tier === 'listen' ? { listen: { host: '127.0.0.1', port: 0 } } : {});
  // One parent: sessions.s<i>; spread: keys.p<i / 1000>.k<i % 1000>.
  const pathOf = shape === 'one' ? (i) => ['sessions', `s${i}`] : (i) => ['keys', `p${Math.floor(i / 1000)}`, `k${i % 1000}`];
  const fillStarted = performance.now();
  for (let i = 0; i < KEYS; i += PER_TURN) {
    for (let j = i; j < i + PER_TURN; j++) hub.set(pathOf(j), { user: j });
    await turn();
  }
  const fillMs = performance.now() - fillStarted;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let done = 0;
  const started = performance.now();
  while (performance.now() - started < WRITE_MS) {
    for (let i = 0; i < BATCH; i++) hub.set(pathOf(((done + i) * 7919) % KEYS), { user: done + i });
    done += BATCH;
    await tick();
  }
  const opsPerSecond = (done / (performance.now() - started)) * 1000;
  delay.disable();
  await hub.close();
  return { fillMs, opsPerSecond, longestPauseMs: delay.max / 1e6 };
}

function inChild(shape, tier) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), shape, tier], { encoding: 'utf8', timeout: 600_000 });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`big parent bench printed no result:\n${out}`);
  return JSON.parse(line.slice('RESULT '.length));
}

export function runBigParentBench() {
  const figures = {};
  const rows = [];
  for (const tier of ['alone', 'listen']) {
    const one = inChild('one', tier);
    const spread = inChild('spread', tier);
    figures[tier] = { one, spread };
    const hub = tier === 'alone' ? 'a hub alone' : 'a hub listening for peers';
    rows.push(
      [`${hub}: writes/s under one parent of ${KEYS / 1e6}M keys`, one.opsPerSecond, `the same keys under ${KEYS / 1000} parents`, spread.opsPerSecond],
      [`${hub}: longest pause while writing, one parent`, { ms: one.longestPauseMs }, `${KEYS / 1000} parents`, { ms: spread.longestPauseMs }, '< 50 ms'],
      [`${hub}: writing the ${KEYS / 1e6}M keys, one parent`, { ms: one.fillMs }, `${KEYS / 1000} parents`, { ms: spread.fillMs }],
    );
  }
  table(`a parent of ${KEYS / 1e6}M keys: ${BATCH} writes per ms on random keys for ${WRITE_MS / 1000} s`, rows);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === undefined) runBigParentBench();
  else console.log(`RESULT ${JSON.stringify(await measure(process.argv[2], process.argv[3]))}`);
}
