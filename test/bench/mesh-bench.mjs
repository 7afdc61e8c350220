// Hub-to-hub benchmarks, one process per side (run by test/bench/mesh.mjs):
//   ROLE=raw-sink|raw-source: a plain TCP socket, newline-delimited, 100 messages per write
//   (WARMUP: a burst of that many first, then N measured once the parent says go)
//   ROLE=hub: a collective hub; commands come from the parent over IPC.
// Every process prints nothing but what its parent asks for, over IPC.
import { createServer, connect } from 'node:net';
import { Collective } from 'collective';
import { collectGarbage } from './harness.mjs';

const now = () => Number(process.hrtime.bigint()) / 1e6;

// Calls `onLine` for each newline-terminated line arriving on `socket`.
function eachLine(socket, onLine) {
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk;
    let at;
    while ((at = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      onLine(line);
    }
  });
}
const role = process.env.ROLE;

// Messages of a warm-up burst (WARMUP) sent and counted before the N measured.
const warmup = Number(process.env.WARMUP ?? 0);

// Sends the warm-up burst with `send(count)`, waits for the parent's word, then sends the N
// measured: resolves with when that began, for the parent.
async function warmThenSend(send, n) {
  if (warmup > 0) {
    // Listening before the burst: the word may come as soon as the sink has it all.
    const go = new Promise((resolve) => process.once('message', resolve));
    await send(warmup);
    await go;
  }
  const start = now();
  await send(n);
  process.send({ start });
}

if (role === 'raw-sink') {
  // Counts messages; reports when it has the warm-up's, then when it has N more; echoes pings.
  const server = createServer((socket) => {
    let count = 0;
    socket.setNoDelay(true);
    eachLine(socket, (line) => {
      if (line.startsWith('P')) socket.write(`${line}\n`);
      else if (++count === warmup && warmup > 0) process.send({ warm: true });
      else if (count === warmup + Number(process.env.N)) process.send({ done: now() });
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
} else if (role === 'raw-source') {
  const socket = connect(Number(process.env.PORT), '127.0.0.1');
  socket.setNoDelay(true);
  const n = Number(process.env.N);
  const perWrite = Number(process.env.PER_WRITE);
  socket.on('connect', async () => {
    const message = '{"k":"incr","p":["hits"],"v":1}\n';
    const send = async (count) => {
      for (let i = 0; i < count; i += perWrite) {
        socket.write(message.repeat(perWrite));
        if (i % 10_000 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    await warmThenSend(send, n);
    // Pings for latency, one every 2 ms, timed on the echo.
    const latencies = [];
    eachLine(socket, (line) => latencies.push((now() - Number(line.slice(1))) / 2)); // one way, from a round trip
    process.on('message', async (message) => {
      if (message.pings === undefined) return;
      for (let i = 0; i < message.pings; i++) {
        socket.write(`P${now()}\n`);
        await new Promise((r) => setTimeout(r, 2));
      }
      while (latencies.length < message.pings) await new Promise((r) => setTimeout(r, 5));
      process.send({ latencies });
    });
  });
  process.on('disconnect', () => process.exit(0));
} else if (role === 'xadd-source' || role === 'xread-sink') {
  await rawStream(role);
} else {
  // Linked through Redis with REDIS_URL, over TCP otherwise.
  const hub = await Collective.start(
    process.env.REDIS_URL
      ? { redis: { url: process.env.REDIS_URL, group: 'bench', snapshotMs: 1000 } }
      : { listen: { host: '127.0.0.1', port: 0 }, peers: process.env.PEER ? [{ host: '127.0.0.1', port: Number(process.env.PEER) }] : [] },
  );
  const linked = () =>
    hub.stats().redis !== undefined
      ? hub.stats().redis.hubs.some((other) => !other.left && other.silentMs < 1000)
      : hub.stats().peers.some((peer) => peer.outbound === 'up' && peer.inbound);
  const latencies = [];
  hub.watch('ping', (value) => value && latencies.push(now() - value.at));
  process.on('message', async (message) => {
    switch (message.cmd) {
      case 'linked': {
        while (!linked()) await new Promise((r) => setTimeout(r, 5));
        return process.send({ re: message.cmd });
      }
      case 'write': {
        // 1000 incr per turn: of one counter, or of `counters` counters in turn.
        const counters = message.counters ?? 0;
        const paths = Array.from({ length: counters }, (_, j) => `c.k${j}`);
        const start = now();
        for (let i = 0; i < message.n; i += 1000) {
          if (counters === 0) for (let j = 0; j < 1000; j++) hub.incr('hits');
          else for (let j = i; j < i + 1000; j++) hub.incr(paths[j % counters]);
          await new Promise((r) => setImmediate(r));
        }
        return process.send({ re: message.cmd, start });
      }
      case 'await': {
        while (hub.get(message.path) !== message.value) await new Promise((r) => setTimeout(r, 1));
        return process.send({ re: message.cmd, done: now() });
      }
      case 'fill': {
        for (let i = 0; i < message.n; i++) hub.set(`k${i % 1000}.k${Math.floor(i / 1000)}`, i);
        // Once GC folded the fill (one pass over 1M op records, ~1.6 s during which the hub
        // answers nobody), so that the figure is the sync, not the writer's fold; through Redis,
        // once the snapshot stored for newcomers holds every write of the fill (its vector,
        // stored beside it, says up to which of this hub's writes), folded, as a group that has
        // run for a while holds it (the leader stores it again once GC folded what it held).
        if (process.env.REDIS_URL) await snapshotCovers(hub.id, hub.stats().opsLocal);
        const folded = () => hub.stats().metadata.ops === 0 && (!process.env.REDIS_URL || hub.stats().redis.snapshotFolded);
        while (!folded()) await new Promise((r) => setTimeout(r, 20));
        return process.send({ re: message.cmd });
      }
      case 'heap': {
        // The heap with everything unreachable collected.
        collectGarbage();
        return process.send({ re: message.cmd, bytes: process.memoryUsage().heapUsed });
      }
      case 'count': {
        const tree = hub.get() ?? {};
        let keys = 0;
        for (const child of Object.values(tree)) keys += typeof child === 'object' && child !== null ? Object.keys(child).length : 0;
        return process.send({ re: message.cmd, keys });
      }
      case 'pings': {
        for (let i = 0; i < message.n; i++) {
          hub.set('ping', { at: now(), n: i + 1 });
          await new Promise((r) => setTimeout(r, 2));
        }
        return process.send({ re: message.cmd });
      }
      case 'latencies':
        return process.send({ re: message.cmd, latencies });
      default:
        return process.send({ re: message.cmd, error: 'unknown' });
    }
  });
  process.send({ port: hub.port });
  process.on('disconnect', () => process.exit(0));
}

// Resolves once the group's stored snapshot holds this hub's writes up to `seq`.
async function snapshotCovers(id, seq) {
  const { createClient } = await import('redis');
  const client = createClient({ url: process.env.REDIS_URL, RESP: 2 });
  await client.connect();
  for (;;) {
    const vector = await client.get('collective:bench:snapshot:vector');
    if (vector !== null && (JSON.parse(vector)[id] ?? 0) >= seq) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await client.quit();
}

// The raw baseline of the Redis tier: the same ops as a hub's turn (1000 incr, of one counter,
// or with COUNTERS of that many in turn), one entry a turn, as one JSON run with each op spelled
// out (five numbers, as a hub's run writes an op that does not repeat the one before it),
// appended with XADD by one process and read with blocking XREADs by another. A hub writes a
// counter's increments in one millisecond as one repeat record (core/codec.ts RUN_REPEAT); this
// baseline carries every op, what a stream of these writes takes without the store.
async function rawStream(role) {
  const { createClient } = await import('redis');
  const client = createClient({ url: process.env.REDIS_URL, RESP: 2 });
  await client.connect();
  const key = 'bench:raw';
  const n = Number(process.env.N);
  if (role === 'xread-sink') {
    process.send({ ready: true });
    let count = 0;
    let cursor = '0-0';
    let warm = warmup === 0;
    while (count < warmup + n) {
      if (!warm && count >= warmup) {
        warm = true;
        process.send({ warm: true });
      }
      const reply = await client.sendCommand(['XREAD', 'COUNT', '100', 'BLOCK', '1000', 'STREAMS', key, cursor]);
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          cursor = id;
          count += (JSON.parse(fields[1]).length - 4) / 5;
        }
      }
    }
    process.send({ done: now() });
  } else {
    const counters = Number(process.env.COUNTERS ?? 0);
    const run = ['aaaaaaaaaaaa', 1, Date.now(), counters === 0 ? [['hits']] : Array.from({ length: counters }, (_, j) => ['c', `k${j}`])];
    for (let i = 0; i < 1000; i++) run.push(2, counters === 0 ? 0 : i % counters, 1, 0, i);
    const text = JSON.stringify(run);
    const append = async (count) => {
      const pending = [];
      for (let i = 0; i < count; i += 1000) {
        pending.push(client.sendCommand(['XADD', key, '*', 'o', text]));
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all(pending);
    };
    await warmThenSend(append, n);
  }
  process.on('disconnect', () => process.exit(0));
}
