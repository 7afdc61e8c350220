// Hub-to-hub benchmarks, one process per side (run by test/bench/mesh.mjs):
//   ROLE=raw-sink|raw-source: a plain TCP socket, newline-delimited, 100 messages per write
//   ROLE=hub: a collective hub; commands come from the parent over IPC.
// Every process prints nothing but what its parent asks for, over IPC.
import { createServer, connect } from 'node:net';
import { Collective } from 'collective';

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

if (role === 'raw-sink') {
  // Counts messages; reports when it has N, and echoes pings.
  const server = createServer((socket) => {
    let count = 0;
    socket.setNoDelay(true);
    eachLine(socket, (line) => {
      if (line.startsWith('P')) socket.write(`${line}\n`);
      else if (++count === Number(process.env.N)) process.send({ done: now() });
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
    const start = now();
    const message = '{"k":"incr","p":["hits"],"v":1}\n';
    for (let i = 0; i < n; i += perWrite) {
      socket.write(message.repeat(perWrite));
      if (i % 10_000 === 0) await new Promise((r) => setImmediate(r));
    }
    process.send({ start });
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
} else {
  const hub = await Collective.start({
    listen: { host: '127.0.0.1', port: 0 },
    peers: process.env.PEER ? [{ host: '127.0.0.1', port: Number(process.env.PEER) }] : [],
  });
  const latencies = [];
  hub.watch('ping', (value) => value && latencies.push(now() - value.at));
  process.on('message', async (message) => {
    switch (message.cmd) {
      case 'linked': {
        while (!hub.stats().peers.some((peer) => peer.outbound === 'up' && peer.inbound)) await new Promise((r) => setTimeout(r, 5));
        return process.send({ re: message.cmd });
      }
      case 'write': {
        const start = now();
        for (let i = 0; i < message.n; i += 1000) {
          for (let j = 0; j < 1000; j++) hub.incr('hits');
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
        return process.send({ re: message.cmd });
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
