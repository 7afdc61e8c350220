// Cluster benchmarks, run as their own process by test/bench/run.mjs (a cluster primary must
// own its process). MODE=raw measures plain process.send relays to every worker, MODE=raw-others
// relays that send each batch to the other workers only, MODE=collective the same jobs through
// collective. WORKLOAD=incr (the default): 1000 incr of one key per turn; WORKLOAD=sets: 100 sets
// per turn over 1000 keys of depth 2 of the worker's own (`w<id>.k<n>`), each a small object.
// FORM=plain (raw modes): writes as [code, path, value] arrays instead of { k, p, v } objects.
// Prints one line `RESULT <json>`.
import cluster from 'node:cluster';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import collective from 'collective';

const MODE = process.env.MODE;
const OPS = Number(process.env.OPS ?? 200_000); // per worker
const PINGS = Number(process.env.PINGS ?? 1000);
const SETS = process.env.WORKLOAD === 'sets';
// FORM=plain: the raw relays send each write as collective's plain writes travel
// ([code, path, value]: wire/member.ts, PlainWrite) instead of { k, p, v } objects.
const PLAIN = process.env.FORM === 'plain';
const PER_TURN = SETS ? 100 : 1000;
const KEYS = 1000;
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC: shared by processes

// PROFILE=<dir>: each process writes a CPU profile of the throughput phase there (the primary's
// from its start to both workers' reports), for `node --cpu-prof`-style analysis.
async function startProfile() {
  if (process.env.PROFILE === undefined) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    const name = cluster.isPrimary ? 'primary' : `worker-${cluster.worker.id}`;
    writeFileSync(join(process.env.PROFILE, `${MODE}-${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// ---- raw: process.send, batched per tick, relayed by the primary to every worker (or, with
// MODE=raw-others, to every worker but the writer) ----
async function rawPrimary() {
  const workers = [cluster.fork(), cluster.fork()];
  const toOthers = MODE === 'raw-others';
  // One outbox per receiver: what each must be sent at the end of the turn.
  const outboxes = new Map(workers.map((worker) => [worker, []]));
  let scheduled = false;
  const relay = () => {
    scheduled = false;
    for (const [worker, batch] of outboxes) {
      if (batch.length === 0) continue;
      outboxes.set(worker, []);
      worker.send({ b: batch });
    }
  };
  const results = [];
  let ready = 0;
  for (const worker of workers) {
    worker.on('message', (message) => {
      // Start barrier: a message relayed to a worker before it listens would be lost.
      if (message.ready && ++ready === workers.length) for (const w of workers) w.send({ go: true });
      if (message.b) {
        for (const [receiver, outbox] of outboxes) {
          if (toOthers && receiver === worker && message.b[0]?.ping === undefined) continue;
          for (const op of message.b) outbox.push(op);
        }
        if (!scheduled) {
          scheduled = true;
          setImmediate(relay);
        }
      } else if (message.result) results.push(message.result);
      else if (message.cpu !== undefined) reportCpu(message.cpu);
    });
  }
  await new Promise((resolve) => {
    const check = setInterval(() => results.length === 2 && (clearInterval(check), resolve()), 5);
  });
  for (const worker of workers) worker.kill();
  console.log(`RESULT ${JSON.stringify(merge(results))}`);
}

async function rawWorker() {
  const me = cluster.worker.id;
  // Writes this worker must see: every worker's, or only the other's (raw-others).
  const expected = MODE === 'raw-others' ? OPS : 2 * OPS;
  let seen = 0;
  let allSeen;
  const throughputDone = new Promise((resolve) => (allSeen = resolve));
  let lastPing;
  const pingsDone = new Promise((resolve) => (lastPing = resolve));
  const latencies = [];
  let go;
  const started = new Promise((resolve) => (go = resolve));
  // One listener for both phases: pings may arrive while the writes are still being counted.
  process.on('message', (message) => {
    if (message.go) return go();
    for (const op of message.b) {
      if (op.ping === undefined) {
        if (++seen === expected) allSeen();
        continue;
      }
      if (op.from !== me) latencies.push(now() - op.ping);
      if (op.last) lastPing();
    }
  });
  process.send({ ready: true });
  await started;
  // Throughput: OPS small writes, batched per tick as collective does.
  const stopProfile = await startProfile();
  const cpuStart = process.cpuUsage();
  const start = now();
  for (let i = 0; i < OPS; i += PER_TURN) {
    const batch = [];
    for (let j = i; j < i + PER_TURN; j++) {
      batch.push(PLAIN ? (SETS ? [0, `w${me}.k${j % KEYS}`, { n: j, by: me }] : [2, 'hits', 1]) : SETS ? { k: 'set', p: [`w${me}`, `k${j % KEYS}`], v: { n: j, by: me } } : { k: 'incr', p: ['hits'], v: 1 });
    }
    process.send({ b: batch });
    await new Promise((r) => setImmediate(r));
  }
  await throughputDone;
  const seconds = (now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  await stopProfile();
  process.send({ cpu: (cpu.user + cpu.system) / 1000 });
  // Latency: one ping every 2 ms from worker 1, timed on arrival at worker 2.
  if (me === 1) {
    for (let i = 0; i < PINGS; i++) {
      process.send({ b: [{ from: me, ping: now(), last: i === PINGS - 1 }] });
      await new Promise((r) => setTimeout(r, 2));
    }
    process.send({ result: { opsPerSecond: (2 * OPS) / seconds } });
  } else {
    await pingsDone;
    latencies.sort((a, b) => a - b);
    process.send({ result: { opsPerSecond: (2 * OPS) / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) } });
  }
}

// ---- collective: the same jobs through collective.cluster() ----
async function collectivePrimary() {
  // PERSIST=<fsync mode>: the hub keeps its store on disk (the persist part of the bench).
  const dir = process.env.PERSIST === undefined ? undefined : mkdtempSync(join(tmpdir(), 'collective-bench-cluster-'));
  const hub = await collective.cluster({ workers: 2, ...(dir === undefined ? {} : { persist: { dir, fsync: process.env.PERSIST } }) });
  const results = [];
  cluster.on('message', (worker, message) => {
    if (message.result) results.push(message.result);
    else if (message.cpu !== undefined) reportCpu(message.cpu);
  });
  await new Promise((resolve) => {
    const check = setInterval(() => results.length === 2 && (clearInterval(check), resolve()), 5);
  });
  await hub.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  console.log(`RESULT ${JSON.stringify(merge(results))}`);
}

async function collectiveWorker() {
  await collective.ready();
  const me = cluster.worker.id;
  // Both workers start together: each waits until the other is ready.
  await collective.incr('ready');
  while (collective.get('ready') !== 2) await new Promise((r) => setTimeout(r, 1));
  const stopProfile = await startProfile();
  const cpuStart = process.cpuUsage();
  const start = now();
  for (let i = 0; i < OPS; i += PER_TURN) {
    if (SETS) for (let j = i; j < i + PER_TURN; j++) collective.set(`w${me}.k${j % KEYS}`, { n: j, by: me });
    else for (let j = 0; j < PER_TURN; j++) collective.incr('hits');
    await new Promise((r) => setImmediate(r));
  }
  await collective.flush();
  // Own writes are confirmed; wait for the other worker's (its last write, applied after all
  // the others). A 1 ms poll: spinning on setImmediate would burn the CPU the measurement needs.
  const other = me === 1 ? 2 : 1;
  const othersDone = SETS ? () => collective.get(`w${other}.k${(OPS - 1) % KEYS}`)?.n === OPS - 1 : () => collective.get('hits') === 2 * OPS;
  while (!othersDone()) await new Promise((r) => setTimeout(r, 1));
  const seconds = (now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  await stopProfile();
  process.send({ cpu: (cpu.user + cpu.system) / 1000 });
  // get inside a worker: a hot key.
  let sink = 0;
  const getStart = now();
  for (let i = 0; i < 2_000_000; i++) sink += collective.get(SETS ? 'w2.k17' : 'hits') === undefined ? 0 : 1;
  const getsPerSecond = 2_000_000 / ((now() - getStart) / 1000);
  // Latency: worker 1 sets a timestamp every 2 ms; worker 2 watches it.
  const latencies = [];
  await collective.incr('ready');
  while (collective.get('ready') !== 4) await new Promise((r) => setTimeout(r, 1));
  if (me === 1) {
    for (let i = 0; i < PINGS; i++) {
      collective.set('ping', { at: now(), last: i === PINGS - 1 });
      await new Promise((r) => setTimeout(r, 2));
    }
    await collective.flush();
    process.send({ result: { opsPerSecond: (2 * OPS) / seconds, getsPerSecond, sink } });
  } else {
    await new Promise((resolve) => {
      collective.watch('ping', (value) => {
        latencies.push(now() - value.at);
        if (value.last) resolve();
      });
    });
    latencies.sort((a, b) => a - b);
    process.send({ result: { opsPerSecond: (2 * OPS) / seconds, getsPerSecond, p50: percentile(latencies, 50), p99: percentile(latencies, 99) } });
  }
}

// Diagnostics (CPU_REPORT=1): CPU ms of each process during the throughput phase.
const primaryCpuStart = process.cpuUsage();
const stopPrimaryProfile = cluster.isPrimary ? await startProfile() : undefined;
const workerCpu = [];
function reportCpu(ms) {
  workerCpu.push(ms);
  if (workerCpu.length === 2) void stopPrimaryProfile?.();
  if (workerCpu.length === 2 && process.env.CPU_REPORT) {
    const own = process.cpuUsage(primaryCpuStart);
    console.error(`cpu ms: primary ${((own.user + own.system) / 1000).toFixed(0)}, workers ${workerCpu.map((v) => v.toFixed(0)).join(', ')}`);
  }
}

function merge(results) {
  const merged = { opsPerSecond: Math.min(...results.map((r) => r.opsPerSecond)) };
  for (const r of results) {
    if (r.p50 !== undefined) Object.assign(merged, { p50: r.p50, p99: r.p99 });
    if (r.getsPerSecond !== undefined) merged.getsPerSecond = Math.max(merged.getsPerSecond ?? 0, r.getsPerSecond);
  }
  return merged;
}

// Exit cleanly when stopped, so that profilers (node --cpu-prof) write their output.
if (cluster.isWorker) process.on("SIGTERM", () => process.exit(0));
if (MODE === 'raw' || MODE === 'raw-others') await (cluster.isPrimary ? rawPrimary() : rawWorker());
else await (cluster.isPrimary ? collectivePrimary() : collectiveWorker());
