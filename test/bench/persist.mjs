// Persistence benchmarks: writes/s of a hub in each fsync mode next to the same writes without
// `persist`; durable writes next to raw appends + fdatasync of the same bytes; restart times of
// a 1M-key store. Part of `npm run bench` (it builds dist/ first).
import { fork } from 'node:child_process';
import { closeSync, fdatasync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collective } from '../../dist/esm/index.js';
import { encodeBatchRecord } from '../../dist/esm/hub/persist/batch-encoder.js';
import { runOnce } from './cluster.mjs';
import { median, table } from './harness.mjs';

const BATCH = 100; // writes per turn of the event loop
const HOT_KEYS = 1000;
const ROUND_MS = 1000;
const ROUNDS = 5;
const STORE_KEYS = 1_000_000;
const DURABLE_WRITERS = 10;
const CLUSTER_OPS = 100_000; // per worker

const turn = () => new Promise(setImmediate);
const value = (i) => ({ user: i, seen: i * 7 });

function scratch() {
  return mkdtempSync(join(tmpdir(), 'collective-bench-persist-'));
}

// Writes/s of a hub writing BATCH sets per turn on HOT_KEYS keys for ROUND_MS. `writers`
// durable writers instead: each makes BATCH / writers sets, waits until they are on disk, and
// goes on (a server answering requests once their writes are durable; fsyncs are shared).
// `pauses`, if given, gets the longest a compaction held the hub's event loop in the round.
// `eachTurn(first, values)`, if given, runs after each turn's sets (`values`, the first of them
// write number `first`), in that turn.
async function hubRate(persist, writers = 0, pauses = undefined, eachTurn = undefined) {
  const dir = persist === undefined ? undefined : scratch();
  const hub = await Collective.start(persist === undefined ? {} : { persist: { dir, ...persist } });
  let done = 0;
  const started = performance.now();
  const running = () => performance.now() - started < ROUND_MS;
  if (writers === 0) {
    const values = new Array(BATCH);
    while (running()) {
      for (let i = 0; i < BATCH; i++) hub.set(`users.u${(done + i) % HOT_KEYS}`, (values[i] = value(done + i)));
      eachTurn?.(done, values);
      done += BATCH;
      await turn();
    }
  } else {
    const each = BATCH / writers;
    const writer = async (w) => {
      while (running()) {
        const writes = [];
        for (let i = 0; i < each; i++) writes.push(hub.set(`users.u${(done + i * writers + w) % HOT_KEYS}`, value(done + i), { durable: true }));
        done += each;
        await Promise.all(writes);
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  }
  const rate = (done / (performance.now() - started)) * 1000;
  pauses?.push(hub.stats().persist?.longestCompactionPauseMs ?? 0);
  await hub.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  return rate;
}

// The floor of the journal's encoding: a hub without persist making the same writes, and each
// turn's writes encoded as the journal encodes its record (binary, CRC-32, into its buffer),
// written nowhere. The ops encoded are the bench's own, given each write's value and a stamp:
// the journal encodes the hub's, of the same shape.
async function encodeOnlyRate() {
  const node = 'benchhub0001';
  const paths = Array.from({ length: HOT_KEYS }, (_, i) => Object.freeze(['users', `u${i}`]));
  // The numbers one log gives its paths (see PATH_ID in batch-format.ts).
  const pathIds = new Map();
  let bytes = 0;
  const rate = await hubRate(undefined, 0, undefined, (first, values) => {
    const batch = [];
    const wall = Date.now();
    for (let i = 0; i < values.length; i++) {
      batch.push({ kind: 'set', path: paths[(first + i) % HOT_KEYS], value: Object.freeze(values[i]), seq: first + i + 1, stamp: { wall, count: i, node } });
    }
    bytes += encodeBatchRecord(batch, pathIds).length;
  });
  if (bytes === 0) throw new Error('nothing encoded');
  return rate;
}

// The same bytes as a durable batch's record, appended with writeSync and fdatasync'ed, one
// batch at a time: what the disk itself allows. `withSets`: the lockstep baseline of a durable
// writer, the same BATCH sets on a hub without persist before each append. On this machine's
// disk an fdatasync takes longer after the CPU has worked than right after the previous one
// (measured: 0.4 ms of work between them turns a 0.75 ms cycle into 1.4 ms), so a writer that
// works between fsyncs is measured against a baseline that works the same way.
async function rawRate(withSets = false) {
  const dir = scratch();
  const fd = openSync(join(dir, 'raw'), 'w');
  const hub = withSets ? await Collective.start({}) : undefined;
  const ops = Array.from({ length: BATCH }, (_, i) => ({ kind: 'set', path: ['users', `u${i}`], value: value(i), seq: i + 1, stamp: { wall: Date.now(), count: i, node: 'benchhub0001' } }));
  // A copy: the encoder's buffer is reused by the next record it encodes.
  const record = Buffer.from(encodeBatchRecord(ops, new Map()));
  let done = 0;
  const started = performance.now();
  while (performance.now() - started < ROUND_MS) {
    if (hub !== undefined) for (let i = 0; i < BATCH; i++) hub.set(`users.u${(done + i) % HOT_KEYS}`, value(done + i));
    writeSync(fd, record);
    await new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
    done += BATCH;
  }
  const rate = (done / (performance.now() - started)) * 1000;
  closeSync(fd);
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

// Restart of a store of STORE_KEYS keys (1000 objects of 1000 keys): written by a child
// process, which closes cleanly (`clean`) or is killed with SIGKILL after its last write.
async function restart(clean) {
  const dir = scratch();
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, PERSIST_BENCH_CHILD: dir, CLEAN: clean ? '1' : '' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const report = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve({}) : reject(new Error(`persist bench writer exited with ${code}`))));
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
  const started = performance.now();
  const hub = await Collective.start({ persist: { dir } });
  const ms = performance.now() - started;
  if (hub.get('keys.p999.k999') !== 999) throw new Error('the restarted store lacks its last write');
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
  return { ms, closeMs: report.closeMs, pauseMs: report.pauseMs };
}

async function writer(dir) {
  const hub = await Collective.start({ persist: { dir } });
  for (let i = 0; i < 1000; i++) {
    for (let j = 0; j < 1000; j++) hub.set(`keys.p${i}.k${j}`, j);
    await turn();
  }
  await hub.flush({ durable: true });
  if (process.env.CLEAN !== '1') process.kill(process.pid, 'SIGKILL');
  const pauseMs = hub.stats().persist.longestCompactionPauseMs;
  const started = performance.now();
  await hub.close();
  process.send({ closeMs: performance.now() - started, pauseMs });
  process.disconnect();
}

export async function runPersistBench() {
  const modes = { memory: [], encodeOnly: [], never: [], interval: [], always: [], durable: [], durable1: [], raw: [], lockstep: [] };
  const intervalPauses = [];
  for (let round = 0; round < ROUNDS; round++) {
    modes.memory.push(await hubRate(undefined));
    // Next to its baseline: a mode measured after 'never' (whose close fsyncs its logs, then its
    // directory goes) ran while the disk still worked on that, slower by about 0.05x in 3 runs.
    modes.interval.push(await hubRate({ fsync: 'interval' }, 0, intervalPauses));
    modes.encodeOnly.push(await encodeOnlyRate());
    modes.never.push(await hubRate({ fsync: 'never' }));
    modes.always.push(await hubRate({ fsync: 'always' }));
    modes.durable.push(await hubRate({ fsync: 'always' }, DURABLE_WRITERS));
    modes.durable1.push(await hubRate({ fsync: 'always' }, 1));
    modes.raw.push(await rawRate());
    modes.lockstep.push(await rawRate(true));
  }
  const rate = Object.fromEntries(Object.entries(modes).map(([mode, rates]) => [mode, median(rates)]));
  // The same writes from 2 cluster workers through their hub, with and without persist.
  const relay = { memory: [], interval: [] };
  for (let round = 0; round < ROUNDS; round++) {
    relay.memory.push(runOnce('collective', CLUSTER_OPS).opsPerSecond);
    relay.interval.push(runOnce('collective', CLUSTER_OPS, 'interval').opsPerSecond);
  }
  const clean = await restart(true);
  const killed = await restart(false);
  const per = `${BATCH} sets per turn on ${HOT_KEYS} keys`;
  table(`persist: writes/s of a hub (${per}), and restarts of a ${STORE_KEYS / 1e6}M-key store`, [
    [`persist fsync 'interval'`, rate.interval, 'no persist', rate.memory, '>= 0.8x'],
    ['no persist, each turn encoded as the journal encodes a record, written nowhere: the floor of the encoding', rate.encodeOnly, 'no persist', rate.memory],
    [`cluster: 2 workers' incr through a hub with persist 'interval'`, median(relay.interval), 'the same hub without persist', median(relay.memory), '>= 0.8x'],
    [`persist fsync 'never'`, rate.never, 'no persist', rate.memory],
    [`persist fsync 'always' (writes not awaited on disk)`, rate.always, 'no persist', rate.memory],
    // Two readings of "'always' next to raw appends + fsync": the hub writing in 'always' mode
    // (every batch reaches the disk, fsyncs shared by the batches written meanwhile) next to
    // back-to-back appends + fsyncs, and a writer that waits for each batch's fsync before the
    // next next to the same sets and appends + fsyncs in the same lockstep.
    [`persist fsync 'always' (writes not awaited on disk)`, rate.always, `raw append + fdatasync per ${BATCH} writes`, rate.raw, '>= 0.8x'],
    [`durable writes awaited, fsync 'always', 1 writer of ${BATCH} per fsync`, rate.durable1, `${BATCH} sets without persist, then raw append + fdatasync, in lockstep`, rate.lockstep, '>= 0.8x'],
    [`durable writes awaited, fsync 'always', ${DURABLE_WRITERS} writers`, rate.durable, `raw append + fdatasync per ${BATCH} writes`, rate.raw],
    [`longest compaction pause, fsync 'interval' (${per}, a compaction per 400k ops or 16 MiB of log)`, { ms: Math.max(...intervalPauses) }],
    ['longest compaction pause, writing the 1M-key store (1000 sets per turn)', { ms: clean.pauseMs }],
    ['restart after a clean close (snapshot)', { ms: clean.ms }, undefined, undefined, '< 3000 ms'],
    ['restart after kill -9 (the snapshot, and the logs since)', { ms: killed.ms }, undefined, undefined, '< 3000 ms'],
    ['close (writes the snapshot)', { ms: clean.closeMs }],
  ]);
  return { rate, cluster: { memory: median(relay.memory), interval: median(relay.interval) }, restartMs: { clean: clean.ms, killed: killed.ms }, closeMs: clean.closeMs, compactionPauseMs: { interval: Math.max(...intervalPauses), store: clean.pauseMs } };
}

if (process.env.PERSIST_BENCH_CHILD !== undefined) await writer(process.env.PERSIST_BENCH_CHILD);
