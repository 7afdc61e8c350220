import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REDIS_SERVER, RedisServer } from './helpers/redis-server.js';
import { waitFor } from './helpers/wait.js';

// The README's quick starts, run as pasted: every code block marked `<!-- tested: <file> -->`
// is written to that file in an empty project where `collective` is this package, and run.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = new Map([...readme.matchAll(/<!-- tested: (\S+) -->\n```js\n([\s\S]*?)```/g)].map((match) => [match[1]!, match[2]!]));

const project = mkdtempSync(join(tmpdir(), 'collective-readme-'));
mkdirSync(join(project, 'node_modules'));
symlinkSync(root, join(project, 'node_modules', 'collective'), 'dir');
for (const [file, code] of blocks) writeFileSync(join(project, file), code);
afterAll(() => rmSync(project, { recursive: true, force: true }));

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}
const running: Running[] = [];
afterEach(() => {
  for (const { child } of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function run(file: string, env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [file], { cwd: project, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const entry = { child, output: () => output, exited };
  running.push(entry);
  return entry;
}

async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  const ports = await Promise.all(servers.map((server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))));
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

// Requests answered in this test: each quick-start server counts every request it answers.
let answered = 0;
afterEach(() => {
  answered = 0;
});

function fetchText(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        answered++;
        resolve(body);
      });
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}

/**
 * Makes `requests` requests round the ports, then more until one shows a count equal to every
 * request answered so far: every increment, whichever process served it, reached one count.
 */
async function countsUp(ports: number[], requests: number): Promise<number[]> {
  const shown: number[] = [];
  let next = 0;
  const ask = async (): Promise<number> => Number.parseInt((await fetchText(ports[next++ % ports.length]!)) ?? 'NaN', 10);
  for (let i = 0; i < requests; i++) shown.push(await ask());
  await waitFor(async () => (await ask()) === answered, 10_000, 'a response counting every request answered');
  return shown;
}

describe('the README quick starts run as pasted', { timeout: 60_000 }, () => {
  it('finds the marked blocks', () => {
    expect([...blocks.keys()].sort()).toEqual(['dashboard.mjs', 'expiry.mjs', 'machine.mjs', 'main.mjs', 'one.mjs', 'persist.mjs', 'redis-machine.mjs', 'seed.cjs', 'server.mjs', 'task.mjs']);
  });

  it('sessions and rate limits that expire', async () => {
    const expiry = run('expiry.mjs');
    expect(await expiry.exited, expiry.output()).toBe(0);
    expect(expiry.output()).toBe('true\nsessions.short expired\nundefined\n');
  });

  it('a store that survives restarts: the second run starts where the first stopped, as the same hub', async () => {
    const first = run('persist.mjs');
    expect(await first.exited, first.output()).toBe(0);
    const second = run('persist.mjs');
    expect(await second.exited, second.output()).toBe(0);
    const [, id] = /^run 1 of hub (\S+)\n$/.exec(first.output()) ?? [];
    expect(id, first.output()).toBeDefined();
    expect(second.output()).toBe(`run 2 of hub ${id}\n`);
  });

  it('see it: the hub serves its dashboard and /metrics', async () => {
    const dashboard = run('dashboard.mjs');
    expect(await dashboard.exited, dashboard.output()).toBe(0);
    expect(dashboard.output()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\ncollective_ops_applied_total 1\n$/);
  });

  it('one process', async () => {
    const one = run('one.mjs');
    expect(await one.exited, one.output()).toBe(0);
  });

  it('worker threads: each task sees its own write, and the hub holds them all', async () => {
    const main = run('main.mjs');
    expect(await main.exited, main.output()).toBe(0);
    expect(main.output()).toMatch(/'42': \{ visits: 2 \}/);
  });

  it('a cluster: one count across workers; SIGTERM stops it cleanly', async () => {
    const [port] = await freePorts(1);
    const server = run('server.mjs', { PORT: String(port) });
    await waitFor(async () => (await fetchText(port!)) !== undefined, 15_000, 'the workers to serve');
    const shown = await countsUp([port!], 6);
    expect(shown.every((count) => count >= 1)).toBe(true);
    server.child.kill('SIGTERM');
    expect(await server.exited, server.output()).toBe(0);
    expect(await fetchText(port!)).toBeUndefined();
  });

  it('several machines, on one box: two primaries on two ports count as one; SIGTERM stops each', async () => {
    const [hubA, hubB, httpA, httpB] = await freePorts(4);
    const peers = `127.0.0.1:${hubA},127.0.0.1:${hubB}`;
    const env = { COLLECTIVE_SECRET: 'readme-test-secret', PEERS: peers, HOST: '127.0.0.1' };
    const a = run('machine.mjs', { ...env, PORT: String(hubA), HTTP_PORT: String(httpA) });
    const b = run('machine.mjs', { ...env, PORT: String(hubB), HTTP_PORT: String(httpB) });
    await waitFor(() => /linked to/.test(a.output()) && /linked to/.test(b.output()), 15_000, 'both machines to link');
    await waitFor(async () => (await fetchText(httpA!)) !== undefined && (await fetchText(httpB!)) !== undefined, 15_000, 'both to serve');
    // Two requests were just counted; from here every response counts both machines' requests.
    const shown = await countsUp([httpA!, httpB!], 8);
    expect(shown.every((count) => Number.isInteger(count))).toBe(true);
    expect(a.output()).toMatch(new RegExp(`linked to 127.0.0.1:${hubB}`));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited, a.output()).toBe(0);
    expect(await b.exited, b.output()).toBe(0);
  });

  it.skipIf(REDIS_SERVER === undefined)('several machines through Redis, on one box: two primaries count as one; SIGTERM stops each', async () => {
    const redis = await RedisServer.start();
    try {
      const [httpA, httpB] = await freePorts(2);
      const a = run('redis-machine.mjs', { REDIS_URL: redis.url, MACHINE: 'a', HTTP_PORT: String(httpA) });
      const b = run('redis-machine.mjs', { REDIS_URL: redis.url, MACHINE: 'b', HTTP_PORT: String(httpB) });
      await waitFor(() => /is in the group/.test(a.output()) && /is in the group/.test(b.output()), 15_000, 'both machines to see each other');
      await waitFor(async () => (await fetchText(httpA!)) !== undefined && (await fetchText(httpB!)) !== undefined, 15_000, 'both to serve');
      const shown = await countsUp([httpA!, httpB!], 8);
      expect(shown.every((count) => Number.isInteger(count))).toBe(true);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.exited, a.output()).toBe(0);
      expect(await b.exited, b.output()).toBe(0);
    } finally {
      await redis.stop();
    }
  });

  it('collective.js code (its ports swapped for free ones)', async () => {
    const [first, second] = await freePorts(2);
    const code = blocks.get('seed.cjs')!.replaceAll('8124', String(first)).replaceAll('8125', String(second));
    writeFileSync(join(project, 'seed-free.cjs'), code);
    const seed = run('seed-free.cjs');
    expect(await seed.exited, seed.output()).toBe(0);
    expect(seed.output()).toBe('7\n14\n0 []\n');
  });
});
