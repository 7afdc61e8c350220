// Hubs linked through Redis (`redis`): replicated ops/s from one hub to another, next to raw
// XADD/XREAD of the same batches and to the TCP mesh's figure of the same run, and the time a
// new hub takes to bootstrap 1M keys from the group's snapshot. Only where a `redis-server`
// runs (it is started here on a free port); otherwise it says it skipped.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Collective } from 'collective';
import { median, table } from './harness.mjs';
import { fillSessions } from './sessions.mjs';
import { burst, start, sync } from './mesh.mjs';

async function redisServer() {
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'collective-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.startsWith('PONG')) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    flush: () => spawnSync('redis-cli', ['-p', String(port), 'flushall']),
    stop() {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The second workload: increments of this many counters in turn. A hub's run writes a counter's
// increments in one millisecond as one repeat record (core/codec.ts RUN_REPEAT); these it writes
// op by op, as the raw baseline does, so that the ratio shows what the store costs on its own.
const COUNTERS = 1000;

// As over TCP (mesh.mjs), each figure is a second burst of `n`, after a first that warms
// both sides.
async function rawStream(url, n, counters = 0) {
  const sink = start({ ROLE: 'xread-sink', REDIS_URL: url, N: String(n), WARMUP: String(n) });
  await sink.next();
  const warm = sink.next('warm');
  const source = start({ ROLE: 'xadd-source', REDIS_URL: url, N: String(n), WARMUP: String(n), COUNTERS: String(counters) });
  await warm;
  const measured = Promise.all([source.next(), sink.next()]);
  source.child.send({ go: true });
  const [{ start: began }, { done }] = await measured;
  sink.child.kill();
  source.child.kill();
  return n / ((done - began) / 1000);
}

async function hubs(url, n, counters = 0) {
  const a = start({ ROLE: 'hub', REDIS_URL: url });
  await a.next();
  const b = start({ ROLE: 'hub', REDIS_URL: url });
  await b.next();
  await Promise.all([a.ask({ cmd: 'linked' }), b.ask({ cmd: 'linked' })]);
  await burst(a, b, n, n, counters);
  const opsPerSecond = await burst(a, b, n, 2 * n, counters);
  a.child.kill();
  b.child.kill();
  return opsPerSecond;
}

// The ceiling of any tier between hubs on this workload: the writing hub alone, listening for
// peers but linked to none, making the same writes (1000 incr per turn), timed the same way (a
// second burst). It keeps op records and folds them as a linked hub does, but sends nothing and
// waits for nobody: no tier can carry more than this one hub makes.
async function writerAlone(n) {
  const a = start({ ROLE: 'hub' });
  await a.next();
  await a.ask({ cmd: 'write', n });
  const { start: began } = await a.ask({ cmd: 'write', n });
  const done = Number(process.hrtime.bigint()) / 1e6; // the clock mesh-bench.mjs reads (CLOCK_MONOTONIC)
  a.child.kill();
  return n / ((done - began) / 1000);
}

// The longest pause of a hub's event loop while it stores the group snapshot of a store of
// `megabytes` of JSON (sessions of ~200 bytes under one parent, folded), as the leader of a
// group of one: measured from the end of the fill over two snapshots stored after it (the first
// may have begun during the fill), a write every 100 ms moving the vector meanwhile.
async function snapshotPause(url, megabytes) {
  const hub = await Collective.start({ redis: { url, group: 'stall', snapshotMs: 1000 } });
  const sessions = await fillSessions(hub, megabytes, { yieldEvery: 10_000 });
  const written = hub.stats().redis.snapshotsWritten;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = Date.now();
  while (hub.stats().redis.snapshotsWritten < written + 2) {
    if (Date.now() - started > 300_000) throw new Error('bench: the group snapshot was not stored within 300 s');
    hub.set('tick', Date.now());
    await new Promise((r) => setTimeout(r, 100));
  }
  delay.disable();
  await hub.close();
  return { ms: delay.max / 1e6, sessions };
}

export async function runRedisTierBench({ rounds = 3, ops = 300_000, bootstrapKeys = 1_000_000, meshOpsPerSecond, snapshotMegabytes = 200 } = {}) {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    console.log('\nhubs through Redis: skipped (no redis-server on this machine)');
    return undefined;
  }
  const server = await redisServer();
  try {
    const results = { raw: [], hub: [], alone: [], rawCounters: [], hubCounters: [] };
    for (let round = 0; round < rounds; round++) {
      server.flush();
      results.raw.push(await rawStream(server.url, ops));
      server.flush();
      results.hub.push(await hubs(server.url, ops));
      results.alone.push(await writerAlone(ops));
      server.flush();
      results.rawCounters.push(await rawStream(server.url, ops, COUNTERS));
      server.flush();
      results.hubCounters.push(await hubs(server.url, ops, COUNTERS));
    }
    server.flush();
    const bootstrapSeconds = await sync(bootstrapKeys, server.url);
    server.flush();
    const pause = await snapshotPause(server.url, snapshotMegabytes);
    const figures = { hubOpsPerSecond: median(results.hub), rawStreamOpsPerSecond: median(results.raw), writerAloneOpsPerSecond: median(results.alone), countersHubOpsPerSecond: median(results.hubCounters), countersRawStreamOpsPerSecond: median(results.rawCounters), bootstrapSeconds, bootstrapKeys, snapshotPauseMs: pause.ms, snapshotMegabytes, rounds: results };
    table(`hubs through Redis: ${ops} incr from one hub to another after a first burst of as many, median of ${rounds} rounds`, [
      ['hub to hub through Redis, until the other hub applied all', figures.hubOpsPerSecond, 'raw XADD/XREAD of the same ops, 1000 an entry, each spelled out', figures.rawStreamOpsPerSecond, '>= 0.7x'],
      ['the writing hub alone, linked to nothing, the same writes: what any tier could carry at most', figures.writerAloneOpsPerSecond, 'raw XADD/XREAD of the same ops', figures.rawStreamOpsPerSecond],
      [`the same, to ${COUNTERS} counters in turn: no op repeats the one before it`, figures.countersHubOpsPerSecond, 'raw XADD/XREAD of the same ops, 1000 an entry', figures.countersRawStreamOpsPerSecond],
      ...(meshOpsPerSecond === undefined ? [] : [['hub to hub through Redis (same figure)', figures.hubOpsPerSecond, 'hub to hub over the TCP mesh, same run', meshOpsPerSecond]]),
      [`a new hub joins and holds ${bootstrapKeys} keys (group snapshot and streams)`, { s: bootstrapSeconds }],
      [`longest pause of a hub storing the group snapshot of ${snapshotMegabytes} MB (${pause.sessions} sessions)`, { ms: pause.ms }, undefined, undefined, '<= 50 ms'],
    ]);
    return figures;
  } finally {
    server.stop();
  }
}
