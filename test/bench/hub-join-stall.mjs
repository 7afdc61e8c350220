// How long a hub stops answering while a new hub joins it and takes its snapshot over TCP: the
// hub holds about `MB` megabytes of JSON (sessions of ~200 bytes under one parent), folded by
// GC, and a hub in another process dials it. Reports the longest pause of the serving hub's
// event loop until the new hub holds the last session, and how long that took. Run on its own:
// `node test/bench/hub-join-stall.mjs [MB]`; part of `npm run bench` at 200 MB.
import { execFileSync, spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Collective } from 'collective';
import { table } from './harness.mjs';
import { fillSessions } from './sessions.mjs';

async function serve(megabytes) {
  const hub = await Collective.start({ listen: { host: '127.0.0.1', port: 0 } });
  const sessions = await fillSessions(hub, megabytes);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = Date.now();
  const joiner = spawn(process.execPath, [fileURLToPath(import.meta.url), 'join', String(hub.port), `s${sessions - 1}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    joiner.stdout.on('data', (data) => String(data).includes('synced') && resolve());
    joiner.once('exit', (code) => reject(new Error(`the joining hub exited with ${code} before it synced`)));
  });
  const joinMs = Date.now() - started;
  delay.disable();
  joiner.kill();
  await hub.close();
  return { megabytes, sessions, longestPauseMs: delay.max / 1e6, joinMs };
}

async function join(port, last) {
  const hub = await Collective.start({ listen: { host: '127.0.0.1', port: 0 }, peers: [{ host: '127.0.0.1', port }] });
  while (hub.get(['sessions', last]) === undefined) await new Promise((r) => setTimeout(r, 20));
  console.log('synced');
  await hub.close();
  process.exit(0);
}

/** Runs the measurement in processes of their own. */
export function runHubJoinStallBench({ megabytes = 200 } = {}) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'serve', String(megabytes)], { encoding: 'utf8', timeout: 600_000 });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`hub join stall bench printed no result:\n${out}`);
  const result = JSON.parse(line.slice('RESULT '.length));
  table(`a hub joining one that holds ${result.sessions} sessions (${megabytes} MB of JSON), over TCP`, [
    ['longest pause of the serving hub while the new one takes its snapshot', { ms: result.longestPauseMs }, undefined, undefined, '< 50 ms'],
    ['until the new hub holds the last session', { ms: result.joinMs }],
  ]);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === 'join') await join(Number(process.argv[3]), process.argv[4]);
  else console.log(`RESULT ${JSON.stringify(await serve(Number(process.argv[3] ?? process.argv[2] ?? 200)))}`);
}
