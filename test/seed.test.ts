import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runFixture } from './helpers/processes.js';

// A drop-in for collective.js: its own test flow and its README's cluster example, run against
// this package in real processes, over real TCP (test/fixtures/seed-*.cjs).
afterEach(killAll);

describe('collective.js code runs as it was written', () => {
  it('the original test flow: two hubs in one process, active and connections counted in the callbacks, data after set, sync both ways', async () => {
    const { result, code } = await runFixture('seed-flow.cjs', {});
    expect(code).toBe(0);
    const run = result as { activeAlone: number; activeSecond: number; data: unknown; local: { host: string; port: number }[]; operations: unknown };
    expect(run.activeAlone).toBe(0);
    expect(run.activeSecond).toBe(1);
    expect(run.data).toEqual({ foo1: { sample: true }, foo2: { bar: { sample: true } }, foo3: 'bar', foo4: 'bar' });
    expect(run.local[0]!.host).toBe('127.0.0.1');
    expect(run.local[0]!.port).not.toBe(run.local[1]!.port);
    expect(run.operations).toEqual({ SET: 0, INCREMENT: 1, DELETE: 2 });
  });

  it('the README cluster example: every worker a hub on its own port, OPERATIONS.INCREMENT from each, then OPERATIONS.DELETE', async () => {
    const workers = 3;
    const { result } = await runFixture('seed-cluster.cjs', { WORKERS: String(workers) }, 45_000);
    const run = result as {
      ports: number[];
      counted: { me: string; value: number; active: number; connections: string[] }[];
      deleted: { me: string; value: unknown; over: unknown }[];
    };
    expect(run.counted).toHaveLength(workers);
    for (const report of run.counted) {
      expect(report.value).toBe(9000 * workers);
      expect(report.active).toBe(workers - 1);
      const others = run.ports.filter((_, i) => String(i) !== report.me).map((port) => `127.0.0.1:${port}`);
      expect(report.connections).toEqual(others.sort());
    }
    expect(run.deleted).toHaveLength(workers);
    for (const report of run.deleted) expect(report).toMatchObject({ value: 'undefined', over: { nine: {} } });
  });
});
