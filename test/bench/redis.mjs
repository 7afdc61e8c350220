// What users would pick instead: Redis through ioredis, set + get from 2 client processes,
// unpipelined and pipelined by 100 commands, on this machine. Only when a `redis-server` is on
// the PATH and ioredis is installed (it is not a dependency: `npm install --no-save ioredis`);
// otherwise it says it skipped.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './harness.mjs';

const worker = fileURLToPath(new URL('./redis-worker.mjs', import.meta.url));

function onPath(command) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}

function runClient(socket, me, n) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [worker], { env: { ...process.env, REDIS_SOCKET: socket, ME: me, N: String(n) }, timeout: 120_000 }, (error, stdout) => {
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (error || line === undefined) reject(error ?? new Error(`redis client printed no result: ${stdout}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

export async function runRedisBench({ ops = 20_000, collectiveRelay } = {}) {
  if (!onPath('redis-server')) {
    console.log('\nredis: skipped (no redis-server on the PATH)');
    return { skipped: 'no redis-server on the PATH' };
  }
  try {
    await import('ioredis');
  } catch {
    console.log('\nredis: skipped (ioredis is not installed; `npm install --no-save ioredis` to compare)');
    return { skipped: 'ioredis not installed' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'collective-redis-'));
  const socket = join(dir, 'redis.sock');
  // TCP off (port 0), a Unix socket of its own, no persistence: nothing else on the machine is touched.
  const server = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(socket)) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const results = await Promise.all([runClient(socket, 'a', ops), runClient(socket, 'b', ops)]);
    const figures = {
      redisUnpipelinedOpsPerSecond: results[0].unpipelined + results[1].unpipelined,
      redisPipelinedOpsPerSecond: results[0].pipelined + results[1].pipelined,
    };
    table(`redis: ioredis from 2 processes, ${ops} set + ${ops} get each, over a Unix socket`, [
      ['redis set/get, one command at a time', figures.redisUnpipelinedOpsPerSecond, 'collective cluster relay (above)', collectiveRelay],
      ['redis set/get, pipelined by 100', figures.redisPipelinedOpsPerSecond, 'collective cluster relay (above)', collectiveRelay],
    ]);
    return figures;
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
