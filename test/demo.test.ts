import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REDIS_SERVER } from './helpers/redis-server.js';

// `npm run demo`, short: two cluster primaries linked over TCP, cut and healed, one killed and
// restarted from its disk, must converge with totals equal to the requests acknowledged, show every user's session expire on every
// worker once the load stops, and leave no process behind.
const demo = fileURLToPath(new URL('../demo/index.mjs', import.meta.url));

function runDemo(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [demo, ...args], { timeout: 60_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, output: stdout + stderr });
    });
    child.stdin?.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo', () => {
  it('shows the machines diverge while cut, converge after the heal, checks the totals, and exits 0', { timeout: 60_000 }, async () => {
    // As `npm run demo --duration 6` runs it: npm takes the flag, the 6 arrives bare.
    const { code, output } = await runDemo(['6'], { npm_config_duration: 'true' });
    expect(output).toMatch(/running for 6 s/);
    // Each machine's hub serves its dashboard, and the demo says where.
    expect(output).toMatch(/machine A: dashboard at http:\/\/127\.0\.0\.1:\d+\//);
    expect(output).toMatch(/machine B: dashboard at http:\/\/127\.0\.0\.1:\d+\//);
    expect(output, output).toMatch(/cut the link between A and B/);
    expect(output).toMatch(/healed the link/);
    // Machine B's primary killed and started again: its store comes back from its disk, as itself.
    expect(output).toMatch(/killed machine B's primary with SIGKILL/);
    const [, restoredTotal] = /machine B started again from its disk: hub \S+ \(the same id\), requests\.total read back: (\d+)/.exec(output) ?? [];
    expect(Number(restoredTotal), output).toBeGreaterThan(0);
    expect(output).toMatch(/converged: all 4 workers read total (\d+) = the requests acknowledged/);
    expect(output).toMatch(/sessions expired on every worker of both machines \(expiries each saw: A1 [1-9]\d*, A2 [1-9]\d*, B1 [1-9]\d*, B2 [1-9]\d*\)/);
    expect(code, output).toBe(0);
    // While cut, machine A's workers saw fewer of B's requests than B's own workers did.
    const partitioned = output.split('\n').filter((line) => line.includes('PARTITIONED'));
    const diverged = partitioned.some((line) => {
      const seenByA = [...line.matchAll(/A\d total=\d+ \(A \d+, B (\d+)\)/g)].map((m) => Number(m[1]));
      const seenByB = [...line.matchAll(/B\d total=\d+ \(A \d+, B (\d+)\)/g)].map((m) => Number(m[1]));
      return seenByA.length > 0 && seenByB.length > 0 && Math.max(...seenByA) < Math.min(...seenByB);
    });
    expect(diverged, output).toBe(true);
    // No worker outlives the demo.
    const pids = [...output.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(4);
    expect(pids.filter(alive)).toEqual([]);
    expect(output).toMatch(/all processes stopped/);
    // The lag shown is replication lag, measured on arrival; nothing is reported after the verdict.
    expect(output).toMatch(/linked: A1 total=\d+ \(A \d+, B \d+\) lag \d+ ms \(max \d+\)/);
    const verdict = output.indexOf('sessions expired on every worker');
    expect(output.slice(verdict)).not.toMatch(/link to the other machine/);
  });

  it.skipIf(REDIS_SERVER === undefined)('--redis: the machines link through Redis, cut off it and back, and converge the same way', { timeout: 60_000 }, async () => {
    const { code, output } = await runDemo(['--duration', '6', '--redis']);
    expect(output, output).toMatch(/machines linked through Redis \(redis-server on port \d+\)/);
    expect(output).toMatch(/cut both machines off Redis/);
    expect(output).toMatch(/machine A: link to the other machine down/);
    expect(output).toMatch(/machine B started again from its disk: hub \S+ \(the same id\)/);
    expect(output).toMatch(/converged: all 4 workers read total (\d+) = the requests acknowledged/);
    expect(output).toMatch(/sessions expired on every worker of both machines/);
    expect(code, output).toBe(0);
    const pids = [...output.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(4);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('refuses a duration given the npm ways (--duration=N, --duration N without `--`) when out of range', async () => {
    // `--duration=3` hands the program npm_config_duration=3; `--duration` alone, "true".
    for (const [args, env] of [[[], { npm_config_duration: '3' }], [['2'], { npm_config_duration: 'true' }], [[], { npm_config_duration: 'true' }]] as const) {
      const { code, output } = await runDemo([...args], env);
      expect(code).toBe(2);
      expect(output).toMatch(/usage: npm run demo -- --duration <seconds, 4 to 3600>/);
    }
  });

  it('refuses a bad duration with a usage line', async () => {
    const { code, output } = await runDemo(['--duration', '-1']);
    expect(code).toBe(2);
    expect(output).toMatch(/usage: npm run demo -- --duration/);
  });
});
