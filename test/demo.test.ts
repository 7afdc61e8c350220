import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// `npm run demo`, short: two cluster primaries linked over TCP, cut and healed, must converge
// with totals equal to the requests acknowledged, and leave no process behind.
const demo = fileURLToPath(new URL('../demo/index.mjs', import.meta.url));

function runDemo(seconds: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [demo, '--duration', String(seconds)], { timeout: 60_000 }, (error, stdout, stderr) => {
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
    const { code, output } = await runDemo(6);
    expect(output, output).toMatch(/cut the link between A and B/);
    expect(output).toMatch(/healed the link/);
    expect(output).toMatch(/converged: all 4 workers read total (\d+) = the requests acknowledged/);
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
  });

  it('refuses a bad duration with a usage line', async () => {
    const { code, output } = await runDemo(-1);
    expect(code).toBe(2);
    expect(output).toMatch(/usage: npm run demo -- --duration/);
  });
});
