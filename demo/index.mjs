// `npm run demo [-- --duration 20] [--redis]` (or `npm run demo --duration=20`): two "machines" (two cluster primaries, each a collective
// hub with 2 HTTP workers) linked over TCP with a generated secret, through a link this demo
// owns (with `--redis`: through a redis-server the demo starts, each machine through a link of
// its own, which the demo cuts instead). A load driver sends requests to all four workers; each request increments counters,
// writes a recent-events ring and a per-user value. Midway the link is cut for a while: the
// machines diverge; after the heal they converge. Then machine B's primary, once it answered
// the requests sent to it, is killed with SIGKILL and started again: its hub persists, and comes back from its disk with its id and
// its data. It ends by checking that every worker reads the same data and that the totals match
// the requests acknowledged, then that every user's session (each request sets it with a 1.5 s
// ttl) expired on every worker of both machines: exit 0 if so, 1 if not.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Link } from './link.mjs';

// The length of the run, in seconds. Given as `--duration N` or `--duration=N` after `--`;
// without the `--`, npm takes `--duration` for a setting of its own: it hands the program
// `npm_config_duration` (the value with `--duration=N`, "true" with `--duration N`, the N then
// arriving as a bare argument). All of these work.
function parseDuration(argv, env) {
  let text;
  const at = argv.findIndex((arg) => arg === '--duration' || arg.startsWith('--duration='));
  if (at !== -1) text = argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  else if (env.npm_config_duration !== undefined && env.npm_config_duration !== 'true') text = env.npm_config_duration;
  else if (env.npm_config_duration === 'true') text = argv.find((arg) => /^\d+$/.test(arg));
  else return 20;
  const seconds = Number(text);
  if (text === undefined || !Number.isFinite(seconds) || seconds < 4 || seconds > 3600) {
    console.error('usage: npm run demo -- --duration <seconds, 4 to 3600>   (or: npm run demo --duration=<seconds>)');
    process.exit(2);
  }
  return seconds;
}

const duration = parseDuration(process.argv.slice(2), process.env);
// `--redis` (or `npm run demo --redis`): the machines link through a redis-server the demo
// starts, each through a link of its own, which the demo cuts as it cuts the TCP link otherwise.
const viaRedis = process.argv.includes('--redis') || process.env.npm_config_redis === 'true';
if (viaRedis && spawnSync('redis-server', ['--version']).status !== 0) {
  console.error('npm run demo -- --redis needs a redis-server on the PATH (Debian: apt-get install redis-server)');
  process.exit(2);
}
const tty = process.stdout.isTTY === true;
const started = Date.now();
const elapsed = () => (Date.now() - started) / 1000;
const machineScript = fileURLToPath(new URL('./machine.mjs', import.meta.url));
const secret = randomBytes(16).toString('hex');
// Machine B keeps its store on disk, here, for the length of the demo.
const persistDir = mkdtempSync(join(tmpdir(), 'collective-demo-'));

const machines = {};
const workers = []; // { name, machine, port, pid, stats }
const links = { A: new Link(), B: new Link() }; // links.A carries A's stream to B, and so on
const linkPorts = {}; // where each machine dials the other: its link's port
const sent = { ok: 0, failed: 0 };
// Requests sent to each machine and not yet answered: a machine is killed only once it has none,
// since a request in flight then may or may not have been applied (its writes may reach the
// other machine while its answer never comes), and the check at the end counts the acknowledged.
const inFlight = { A: 0, B: 0 };
let phase = 'starting';
let stopping = false;
const events = [];

function note(text) {
  events.push(`${elapsed().toFixed(1).padStart(5)} s  ${text}`);
  if (!tty) console.log(`${elapsed().toFixed(1).padStart(5)} s  ${text}`);
}

function startMachine(name, peerPort) {
  const persist = name === 'B' ? { DEMO_PERSIST_DIR: persistDir } : {};
  // Through Redis, `peerPort` is this machine's own link to Redis.
  const tier = viaRedis ? { DEMO_REDIS_URL: `redis://127.0.0.1:${peerPort}` } : { DEMO_PEER: String(peerPort), DEMO_SECRET: secret };
  const child = spawn(process.execPath, [machineScript], {
    env: { ...process.env, DEMO_MACHINE: name, ...tier, ...persist },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const machine = { name, child, hub: undefined, id: undefined, total: undefined, peer: 'down', exited: false, killing: false };
  machines[name] = machine;
  child.on('exit', () => {
    machine.exited = true;
    if (!stopping && !machine.killing) finish(`machine ${name} exited unexpectedly`, 1);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    // Once the verdict is in, the machines are being stopped: their links going down is not news.
    if (stopping) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.hub !== undefined) {
      machine.hub = message.hub;
      machine.id = message.id;
      machine.total = message.total;
      machine.dashboard = message.dashboard;
      note(`machine ${name}: dashboard at ${message.dashboard}`);
    }
    if (message.peer !== undefined) {
      machine.peer = message.peer;
      note(`machine ${name}: link to the other machine ${message.peer}`);
    }
    if (message.http !== undefined) {
      // A restarted machine's workers take the places of the ones it had.
      const worker = { name: `${name}${message.worker}`, machine: name, port: message.http, pid: message.pid, stats: undefined };
      const at = workers.findIndex((each) => each.name === worker.name);
      if (at === -1) workers.push(worker);
      else workers[at] = worker;
      workers.sort((x, y) => x.name.localeCompare(y.name));
    }
  });
  return machine;
}

async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function get(port, path) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${response.statusCode}`))));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

// ---- the load driver: about 200 requests/s, round-robin over the four workers ----
let next = 0;
let loadTimer;
function startLoad() {
  loadTimer = setInterval(() => {
    const serving = workers.filter((worker) => !machines[worker.machine].killing);
    for (let i = 0; i < 2; i++) {
      const worker = serving[next++ % serving.length];
      inFlight[worker.machine]++;
      get(worker.port, `/hit?user=${next % 50}`)
        .then(
          () => sent.ok++,
          () => sent.failed++,
        )
        .finally(() => inFlight[worker.machine]--);
    }
  }, 10);
}

// ---- the display ----
async function poll() {
  await Promise.all(
    workers.map(async (worker) => {
      try {
        const stats = JSON.parse(await get(worker.port, '/stats'));
        const before = worker.stats;
        const seconds = before === undefined ? 1 : (Date.now() - before.at) / 1000;
        worker.rate = before === undefined ? 0 : (stats.served - before.served) / seconds;
        worker.stats = { ...stats, at: Date.now() };
      } catch {
        // a worker busy or restarting: keep its last figures
      }
    }),
  );
}

// How this worker sees the other machine's writes arrive: the median and worst replication lag
// over the last second, or, when none arrived for a while, how long ago the last one did.
function lagCell(lag) {
  if (lag === undefined) return '-';
  if (lag.p50 !== null && lag.since !== null && lag.since < 1000) return `${lag.p50} ms (max ${lag.max})`;
  if (lag.since === null) return 'none yet';
  return `none for ${(lag.since / 1000).toFixed(1)} s`;
}

// The link as the machine's hub sees it, which can trail the wire by up to three heartbeats.
function linkCell(machine) {
  if (links.A.isCut && machine.peer === 'up') return 'up (cut not noticed yet)';
  if (!links.A.isCut && machine.peer === 'down' && phase.startsWith('healed')) return 'down (relinking)';
  return machine.peer;
}

let drawn = 0;
function render() {
  const rows = workers.map((worker) => {
    const s = worker.stats ?? { total: 0, by: {}, lag: undefined, digest: '' };
    const sessions = s.sessions === undefined ? '-' : `${s.sessions.live} live, ${s.sessions.expired} expired`;
    return [worker.name, String(s.total), String(s.by.A ?? 0), String(s.by.B ?? 0), `${(worker.rate ?? 0).toFixed(0)}/s`, lagCell(s.lag), linkCell(machines[worker.machine]), sessions, s.digest];
  });
  // "replication lag": from a write on the other machine to its arrival at this worker.
  const header = ['worker', 'total', 'by A', 'by B', 'served', 'replication lag from the other machine', 'link (hub sees)', 'sessions (1.5 s ttl)', 'data digest'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ');
  const lines = [
    `collective demo: ${elapsed().toFixed(1)} s of ${duration} s, phase: ${phase}`,
    `requests acknowledged ${sent.ok}, failed ${sent.failed}; link A<->B on the wire: ${links.A.isCut ? 'CUT (hubs notice within 3 heartbeats, 0.75 s)' : 'up'}`,
    `dashboards: ${Object.values(machines).map((machine) => `${machine.name} ${machine.dashboard ?? '-'}`).join('   ')}`,
    '',
    line(header),
    ...rows.map(line),
    '',
    ...events.slice(-6),
  ];
  if (tty) {
    if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
    process.stdout.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  } else if (Math.floor(elapsed()) % 2 === 0) {
    console.log(`${elapsed().toFixed(1).padStart(5)} s  ${phase}: ` + rows.map((row) => `${row[0]} total=${row[1]} (A ${row[2]}, B ${row[3]}) lag ${row[5]} sessions ${row[7]}`).join(', '));
  }
}

// ---- the end: stop everything, however we got here ----
async function finish(verdict, code) {
  if (stopping) return;
  stopping = true;
  clearInterval(loadTimer);
  clearInterval(displayTimer);
  for (const machine of Object.values(machines)) if (!machine.exited) machine.child.kill('SIGTERM');
  await until(() => Object.values(machines).every((machine) => machine.exited), 5000, 'the machines to stop').catch(() => {
    for (const machine of Object.values(machines)) machine.child.kill('SIGKILL');
  });
  // Workers are stopped by their primary; make sure none outlives the demo.
  const orphans = workers.filter((worker) => {
    try {
      process.kill(worker.pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  for (const orphan of orphans) process.kill(orphan.pid, 'SIGKILL');
  agent.destroy();
  await Promise.all(Object.values(links).map((link) => link.close()));
  redisServer?.kill('SIGKILL');
  rmSync(persistDir, { recursive: true, force: true });
  console.log(verdict);
  console.log(orphans.length === 0 ? 'all processes stopped' : `killed ${orphans.length} leftover worker(s)`);
  process.exit(code);
}
process.on('SIGINT', () => finish('interrupted', 130));
process.on('SIGTERM', () => finish('terminated', 143));

// Machine B's primary killed with SIGKILL (its workers go with it), then started again on the
// same directory: its store comes back from the disk, under the same hub id.
async function restartB() {
  const before = machines.B;
  const id = before.id;
  await until(() => before.peer === 'up', 10_000, 'machine B to be linked before its restart');
  const stats = workers.find((worker) => worker.machine === 'B')?.stats;
  const oldPids = new Set(workers.filter((worker) => worker.machine === 'B').map((worker) => worker.pid));
  before.killing = true;
  await until(() => inFlight.B === 0, 5000, "machine B's requests in flight to be answered");
  phase = 'machine B killed: A serves alone';
  before.child.kill('SIGKILL');
  await until(() => before.exited, 5000, 'machine B to die');
  note(`killed machine B's primary with SIGKILL (its workers had counted ${stats?.total ?? '?'} requests)`);
  await new Promise((resolve) => setTimeout(resolve, duration * 50));
  const again = startMachine('B', linkPorts.B);
  again.killing = true; // its workers are not serving yet
  await until(() => again.hub !== undefined, 15_000, 'machine B to start again');
  if (!viaRedis) links.A.target(again.hub);
  note(`machine B started again from its disk: hub ${again.id}${again.id === id ? ' (the same id)' : ` (a NEW id, was ${id})`}, requests.total read back: ${again.total}`);
  if (again.id !== id) throw new Error(`machine B came back under a new id (${again.id}, was ${id})`);
  await until(() => workers.filter((worker) => worker.machine === 'B' && !oldPids.has(worker.pid)).length === 2 && again.peer === 'up', 20_000, "machine B's workers and link");
  again.killing = false;
  phase = 'machine B back: converging';
}

// The demo's own redis-server (with --redis), on a free port, no persistence; stopped at the end.
let redisServer;
async function startRedis() {
  const port = await new Promise((resolve) => {
    const probe = http.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await until(() => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.startsWith('PONG'), 10_000, 'redis-server to start');
  return port;
}

// ---- the run ----
let displayTimer;
try {
  const [portA, portB] = [await links.A.listen(), await links.B.listen()];
  linkPorts.A = portA;
  linkPorts.B = portB;
  if (viaRedis) {
    const redisPort = await startRedis();
    links.A.target(redisPort);
    links.B.target(redisPort);
    note(`machines linked through Redis (redis-server on port ${redisPort}), each through a link of its own`);
  }
  const a = startMachine('A', portA);
  const b = startMachine('B', portB);
  await until(() => a.hub !== undefined && b.hub !== undefined, 15_000, 'both hubs to listen');
  if (!viaRedis) {
    links.A.target(b.hub);
    links.B.target(a.hub);
  }
  await until(() => workers.length === 4 && a.peer === 'up' && b.peer === 'up', 20_000, 'the workers and the link');
  phase = 'linked';
  note(`running for ${duration} s`);
  displayTimer = setInterval(() => poll().then(render), tty ? 250 : 500);
  startLoad();
  note(`load: about 200 requests/s over ${workers.map((w) => `${w.name} (pid ${w.pid}, port ${w.port})`).join(', ')}`);
  await new Promise((resolve) => setTimeout(resolve, duration * 300));
  links.A.cut();
  links.B.cut();
  phase = 'PARTITIONED: the machines diverge';
  note(viaRedis ? 'cut both machines off Redis' : 'cut the link between A and B');
  await new Promise((resolve) => setTimeout(resolve, duration * 300));
  links.A.heal();
  links.B.heal();
  phase = 'healed: converging';
  note('healed the link');
  await new Promise((resolve) => setTimeout(resolve, duration * 200));
  await restartB();
  await new Promise((resolve) => setTimeout(resolve, duration * 200));
  clearInterval(loadTimer);
  phase = 'load stopped: waiting for every worker to agree';
  // Every request the driver sent has been answered (or failed) before the check.
  await until(() => sent.ok + sent.failed === next, 10_000, 'the last requests');
  let agreed = false;
  const deadline = Date.now() + 15_000;
  while (!agreed && Date.now() < deadline) {
    await poll();
    agreed = workers.every((w) => w.stats?.total === sent.ok && w.stats.digest === workers[0].stats.digest);
    if (!agreed) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  phase = agreed ? 'converged' : 'NOT converged';
  render();
  if (!agreed) {
    const views = workers.map((w) => `${w.name} total=${w.stats?.total} digest=${w.stats?.digest}`).join(', ');
    await finish(`NOT converged: ${sent.ok} requests acknowledged, but ${views}`, 1);
  }
  const digest = workers[0].stats.digest;
  note(`converged: all 4 workers read total ${sent.ok} = the requests acknowledged, and hold identical data (digest ${digest})`);
  // No request since the load stopped: every session expires 1.5 s after its last one, on
  // every worker by its own clock.
  phase = 'load stopped: sessions expiring';
  let expired = false;
  const sessionsDeadline = Date.now() + 10_000;
  while (!expired && Date.now() < sessionsDeadline) {
    await poll();
    render();
    expired = workers.every((w) => w.stats?.sessions?.live === 0 && w.stats.sessions.expired > 0);
    if (!expired) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seen = workers.map((w) => `${w.name} ${w.stats?.sessions?.expired}`).join(', ');
  if (expired) await finish(`sessions expired on every worker of both machines (expiries each saw: ${seen}); all data agreed`, 0);
  else await finish(`sessions did NOT expire everywhere: ${workers.map((w) => `${w.name} ${JSON.stringify(w.stats?.sessions)}`).join(', ')}`, 1);
} catch (error) {
  await finish(`demo failed: ${error.message}`, 1);
}
