// One "machine" of the demo: a cluster primary running collective's hub, linked to the other
// machine's hub over TCP (through the demo's link), or through Redis (through its link to
// Redis), and 2 workers serving HTTP. Run by
// demo/index.mjs; it talks to it with JSON lines on stdout. With DEMO_PERSIST_DIR its hub keeps
// the store there, and comes back from it when the demo kills and restarts this machine.
import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import http from 'node:http';
import collective from 'collective';

const machine = process.env.DEMO_MACHINE;
// A user's session lives this long after their last request.
const SESSION_TTL_MS = 1500;
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

// A digest of the shared data, keys sorted (each process keeps an object's keys in the order
// it learned them, so two equal stores can print differently).
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

if (cluster.isPrimary) {
  // Linked through Redis with DEMO_REDIS_URL (`npm run demo -- --redis`), over TCP otherwise.
  const tier =
    process.env.DEMO_REDIS_URL !== undefined
      ? { redis: { url: process.env.DEMO_REDIS_URL, group: 'demo', name: machine, snapshotMs: 2000, client: { socket: { reconnectStrategy: () => 200 } } } }
      : { listen: { host: '127.0.0.1', port: 0 }, peers: [{ host: '127.0.0.1', port: Number(process.env.DEMO_PEER) }], secret: process.env.DEMO_SECRET };
  const hub = await collective.cluster({
    workers: 2,
    ...tier,
    // Quick to notice the cut and to redial after the heal, for a short demo.
    heartbeatMs: 250,
    antiEntropyMs: 500,
    reconnectMaxMs: 500,
    ...(process.env.DEMO_PERSIST_DIR === undefined ? {} : { persist: { dir: process.env.DEMO_PERSIST_DIR } }),
    // The hub's live page, on loopback, on a free port.
    dashboard: { port: 0 },
  });
  // What it holds as it starts: read back from its disk (nothing has come from the peer yet).
  say({ hub: hub.port ?? 0, id: hub.id, total: hub.get('requests.total') ?? 0, dashboard: hub.dashboardUrl });
  hub.on('peer:up', () => say({ peer: 'up' }));
  // Through Redis, the other machine may have announced itself before this listener was there.
  if (hub.stats().redis?.hubs.some((other) => !other.left && other.silentMs < 1000)) say({ peer: 'up' });
  hub.on('peer:down', () => say({ peer: 'down' }));
  cluster.on('message', (worker, message) => {
    if (message?.http !== undefined) say({ worker: worker.id, pid: worker.process.pid, http: message.http });
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await hub.close(); // stops the workers it forked
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await collective.ready();
  const me = `${machine}${cluster.worker.id}`;
  let served = 0;
  let slot = 0;
  // Replication lag, measured: every request writes `recent.<worker>.<slot> = { at }`; when
  // one written on the other machine arrives here, now - at is how long it took to get here
  // (both "machines" share this host's clock). Kept for the last second.
  const arrivals = [];
  let lastArrival = 0;
  collective.watch('recent', (_value, change) => {
    if (change.segments.length !== 3 || change.segments[1][0] === machine) return;
    const written = collective.get(change.segments);
    if (typeof written?.at !== 'number') return;
    const now = Date.now();
    arrivals.push([now, now - written.at]);
    lastArrival = now;
  });
  // Sessions: every request (re)sets its user's session with a ttl; each worker counts the
  // sessions it saw expire (by its own clock, without anyone sending a delete).
  let sessionsExpired = 0;
  collective.watch('sessions', (_value, change) => {
    if (change.op === 'expire') sessionsExpired++;
  });
  const replicationLag = () => {
    const now = Date.now();
    while (arrivals.length > 0 && arrivals[0][0] < now - 1000) arrivals.shift();
    const lags = arrivals.map(([, lag]) => lag).sort((a, b) => a - b);
    return { p50: lags.length === 0 ? null : lags[Math.floor(lags.length / 2)], max: lags.length === 0 ? null : lags[lags.length - 1], since: lastArrival === 0 ? null : now - lastArrival };
  };
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://demo');
    if (url.pathname === '/hit') {
      const user = url.searchParams.get('user') ?? '0';
      served++;
      // Answer 200 only once the hub applied every write: a 200 is an acknowledged request.
      await Promise.all([
        collective.incr('requests.total'),
        collective.incr(`requests.by.${machine}`),
        collective.set(`recent.${me}.${slot++ % 5}`, { user, at: Date.now() }),
        collective.set(`users.u${user}`, { last: me, at: Date.now() }),
        collective.set(`sessions.u${user}`, { worker: me }, { ttl: SESSION_TTL_MS }),
      ]);
      response.end('ok');
    } else if (url.pathname === '/stats') {
      const data = { requests: collective.get('requests') ?? {}, users: collective.get('users') ?? {}, recent: collective.get('recent') ?? {} };
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify({
          worker: me,
          served,
          total: data.requests.total ?? 0,
          by: data.requests.by ?? {},
          lag: replicationLag(),
          sessions: { live: Object.keys(collective.get('sessions') ?? {}).length, expired: sessionsExpired },
          digest: createHash('sha1').update(canonical(data)).digest('hex').slice(0, 10),
        }),
      );
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => process.send({ http: server.address().port }));
}
