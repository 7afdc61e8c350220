// Worker threads: a collective.pool() of 2 threads each writing, until every thread and the hub
// have seen every write, next to a raw MessagePort relay (batched per turn) in the same run.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Collective } from 'collective';
import { median, table } from './harness.mjs';

const task = new URL('./thread-task.mjs', import.meta.url).href;

// The raw relay: each thread sends its writes to the main thread in one message per turn; the
// main thread forwards each turn's batch to both threads; each thread counts until it saw all.
const RAW_THREAD = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { port, ops, total } = workerData;
  let seen = 0;
  port.on('message', (batch) => {
    seen += batch.length;
    if (seen === total) { parentPort.postMessage('done'); port.close(); }
  });
  parentPort.once('message', async () => {
    // One path array for every op: the structured clone then copies it once per message, as it
    // does for collective's cached paths. PLAIN: each op as collective's plain writes travel
    // ([code, path, value]: wire/member.ts, PlainWrite).
    const path = ['hits'];
    for (let i = 0; i < ops; i += 1000) {
      const batch = [];
      for (let j = 0; j < 1000; j++) batch.push(workerData.plain ? [2, 'hits', 1] : { k: 'incr', p: path, v: 1 });
      port.postMessage(batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
`;

async function raw(ops, plain = false) {
  const threads = [0, 1].map(() => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(RAW_THREAD, { eval: true, workerData: { port: port2, ops, total: 2 * ops, plain }, transferList: [port2] });
    return { worker, port: port1 };
  });
  let outbox = [];
  let scheduled = false;
  let seenHere = 0;
  const relay = () => {
    scheduled = false;
    const batch = outbox;
    outbox = [];
    for (const { port } of threads) port.postMessage(batch);
  };
  for (const { port } of threads) {
    port.on('message', (batch) => {
      seenHere += batch.length;
      for (const op of batch) outbox.push(op);
      if (!scheduled) {
        scheduled = true;
        setImmediate(relay);
      }
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 50)); // both threads up
  const start = performance.now();
  const done = threads.map(({ worker }) => new Promise((resolve) => worker.once('message', resolve)));
  for (const { worker } of threads) worker.postMessage('go');
  await Promise.all(done);
  const seconds = (performance.now() - start) / 1000;
  if (seenHere !== 2 * ops) throw new Error(`raw relay: main saw ${seenHere}`);
  await Promise.all(threads.map(({ worker, port }) => (port.close(), worker.terminate())));
  return (2 * ops) / seconds;
}

async function ours(ops) {
  const hub = new Collective();
  const pool = hub.pool({ filename: task, minThreads: 2, maxThreads: 2 });
  await Promise.all([pool.run({}, { name: 'warm' }), pool.run({}, { name: 'warm' })]);
  const start = performance.now();
  await Promise.all([pool.run({ ops, total: 2 * ops }), pool.run({ ops, total: 2 * ops })]);
  while (hub.get('hits') !== 2 * ops) await new Promise((resolve) => setImmediate(resolve));
  const seconds = (performance.now() - start) / 1000;
  const getsPerSecond = await pool.run({ ms: 300 }, { name: 'gets' });
  await pool.destroy();
  await hub.close();
  return { opsPerSecond: (2 * ops) / seconds, getsPerSecond };
}

async function measure(rounds, ops) {
  const rawRates = [];
  const rawPlainRates = [];
  const ourRates = [];
  const gets = [];
  for (let round = 0; round < rounds; round++) {
    rawRates.push(await raw(ops));
    rawPlainRates.push(await raw(ops, true));
    const result = await ours(ops);
    ourRates.push(result.opsPerSecond);
    gets.push(result.getsPerSecond);
  }
  return { poolOpsPerSecond: median(ourRates), rawPortOpsPerSecond: median(rawRates), rawPlainPortOpsPerSecond: median(rawPlainRates), threadGetsPerSecond: median(gets) };
}

// Measured in a process of its own, like the other parts: the core part leaves a large heap
// behind in the bench's process, which would slow the garbage collector of this one.
if (process.env.THREADS_BENCH_CHILD !== undefined) {
  const { rounds, ops } = JSON.parse(process.env.THREADS_BENCH_CHILD);
  console.log(`RESULT ${JSON.stringify(await measure(rounds, ops))}`);
}

export async function runThreadsBench({ rounds = 3, ops = 200_000 } = {}) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, THREADS_BENCH_CHILD: JSON.stringify({ rounds, ops }) },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`threads bench printed no result:\n${out}`);
  const figures = JSON.parse(line.slice('RESULT '.length));
  table(`threads: a pool of 2 threads each writing ${ops} incr, median of ${rounds} rounds`, [
    ['every thread and the hub have seen every write', figures.poolOpsPerSecond, 'raw MessagePort relay, batched per turn', figures.rawPortOpsPerSecond, '>= 0.7x'],
    ['the same figure', figures.poolOpsPerSecond, 'the raw relay, writes as [code, path, value]', figures.rawPlainPortOpsPerSecond],
    ['get in a pool thread (hot key)', figures.threadGetsPerSecond],
  ]);
  return figures;
}
