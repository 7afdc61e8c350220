import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runFixture } from '../helpers/processes.js';
import type { MemberLinkStats } from '../../lib/index.js';

// Real cluster applications (test/fixtures/cluster-app.mjs) against the built package: a
// primary that calls collective.cluster() and forks real workers.
afterEach(killAll);

interface Report {
  id: number;
  appMessages: unknown[];
  [key: string]: unknown;
}
interface Result {
  reports: Report[];
  hub: Record<string, unknown>;
  appMessagesSeen: number;
  foreignAppMessages: number;
  stats: Record<string, unknown>;
  [key: string]: unknown;
}

async function run(scenario: string, env: Record<string, string> = {}): Promise<Result> {
  const { result } = await runFixture('cluster-app.mjs', { SCENARIO: scenario, ...env });
  return result as Result;
}

describe('two cluster primaries linked as hubs over TCP', () => {
  it('a write in a worker on one machine reaches the workers of the other', async () => {
    // A listens on a port of its own choosing; B is told A's port; A dials B back.
    let reportPort!: (port: number) => void;
    const portOfA = new Promise<number>((resolve) => (reportPort = resolve));
    const a = runFixture('cluster-mesh.mjs', { ROLE: 'a' }, 30_000, (line) => {
      if (line.startsWith('PORT ')) reportPort(Number(line.slice(5)));
    });
    const b = runFixture('cluster-mesh.mjs', { ROLE: 'b', PEER: String(await portOfA) });
    for (const run of await Promise.all([a, b])) {
      expect(run.result).toMatchObject({ seen: { a: 'worker of a', b: 'worker of b' }, total: 2, peers: 1 });
    }
  });
});

describe('three tiers: collective.pool() threads inside cluster workers', () => {
  it('threads write through their worker to the hub; hub, workers and threads end with one tree', async () => {
    const { result } = await runFixture('cluster-threads.mjs', { WORKERS: '2' });
    const { reports, hub, listed } = result as { reports: Record<string, unknown>[]; hub: Record<string, unknown>; listed?: MemberLinkStats[] };
    expect(hub.hits).toBe(200);
    // The hub lists each worker, and the threads each worker serves (as the worker told it).
    expect(listed, 'a member list with every thread').toBeDefined();
    const workers = listed!.filter((member) => member.kind === 'worker');
    const threads = listed!.filter((member) => member.kind === 'thread');
    expect(workers).toHaveLength(2);
    expect(threads).toHaveLength(4);
    for (const worker of workers) {
      const own = threads.filter((thread) => thread.via === worker.member);
      expect(own).toHaveLength(2);
      for (const thread of own) {
        expect(thread.pid).toBe(worker.pid);
        expect(thread.thread).toBeGreaterThan(0);
        expect(thread.link).toBe(`via member ${worker.member}`);
      }
      expect(new Set(own.map((thread) => thread.thread)).size).toBe(2);
    }
    expect((hub.log as string[]).length).toBe(200);
    expect(new Set(hub.log as string[]).size).toBe(200);
    expect(hub.inside).toBe(0);
    expect(hub.lock).toBeNull();
    for (const report of reports) {
      expect(report.readOwnWrites).toBe(true);
      expect(report.threads).toBe(2);
      expect(report.overlaps).toBe(0);
      expect(report.workerView).toEqual({ hits: hub.hits, log: hub.log });
      expect(report.threadView).toEqual({ hits: hub.hits, log: hub.log });
    }
  });
});

describe('collective.cluster() with real forked workers', () => {
  it('concurrent incr and append from every worker: exact count, same order everywhere', async () => {
    const result = await run('counts', { WORKERS: '3', N: '300' });
    expect(result.hub.hits).toBe(900);
    const hubLog = result.hub.log as string[];
    expect(hubLog).toHaveLength(900);
    expect(new Set(hubLog).size).toBe(900);
    for (const report of result.reports) {
      expect(report.hits).toBe(900);
      expect(report.log).toEqual(hubLog);
    }
  });

  it("the application's IPC messages pass untouched and never carry collective's traffic", async () => {
    const result = await run('counts', { WORKERS: '2', N: '50' });
    // Primary side: only the workers' own hello and report messages reached 'message' listeners.
    expect(result.appMessagesSeen).toBe(4);
    expect(result.foreignAppMessages).toBe(0);
    // Worker side: only the primary's ping.
    for (const report of result.reports) expect(report.appMessages).toEqual([{ app: 'ping' }]);
  });

  it('a cas lock is mutually exclusive across workers', async () => {
    const result = await run('lock', { WORKERS: '3', N: '60' });
    expect(result.hub.counter).toBe(180);
    for (const report of result.reports) expect(report.overlaps).toBe(0);
  });

  it('watch in a worker fires once per change made by any process', async () => {
    const result = await run('watch', { WORKERS: '3' });
    for (const report of result.reports) {
      const paths = (report.calls as { path: string }[]).map((call) => call.path);
      expect(paths.sort()).toEqual(['jobs.1', 'jobs.2', 'jobs.3', 'jobs.sentinel']);
    }
  });

  it('a worker reads its own writes at once, and nobody reads a value going backwards', async () => {
    const result = await run('monotonic', { WORKERS: '3', N: '300' });
    const writer = result.reports.find((report) => report.id === 1)!;
    expect(writer.readOwnWrite).toBe(true);
    for (const reader of result.reports.filter((report) => report.id !== 1)) {
      expect(reader.backwards).toBe(0);
      expect(reader.last).toBe(300);
    }
  });

  it('a worker that dies is replaced, and the new one starts from a snapshot', async () => {
    const result = await run('respawn', { WORKERS: '3' });
    const replacement = result.reports.find((report) => report.id === 4);
    expect(replacement).toMatchObject({ before: 'crash', writtenBy1: true });
    expect(result.members).toBe(3);
  });

  it('a worker whose IPC channel fails (an error event on its Worker) does not crash the primary', async () => {
    const result = await run('worker-error', { WORKERS: '1' });
    expect(result).toMatchObject({ survived: true, members: 1, reports: [{ id: 1, ok: true }] });
  });

  it('a worker killed mid-stream loses only its unacknowledged writes; the hub keeps serving', async () => {
    const result = await run('abrupt', { WORKERS: '3', N: '200' });
    // Workers 2, 3 and the replacement of worker 1 each add 200.
    expect(result.hub.hits).toBe(600);
    expect(result.hub.hits1 === undefined || (result.hub.hits1 as number) <= 1000).toBe(true);
    expect(result.stats.rejectedMessages).toBe(0);
  });

  it('a worker too far behind (stuck while writes flow) is replaced, not buffered for without bound', async () => {
    const result = await run('lagging');
    expect(result.exits).toEqual([{ id: 1, signal: 'SIGKILL' }]);
    const ids = result.reports.map((report) => report.id).sort();
    expect(ids).toEqual([2, 3]); // worker 1 never reports; its replacement, worker 3, does
    for (const report of result.reports) expect(report.keys).toBe(40);
    expect(result.members).toBe(2);
  });

  it('in a worker whose primary never started a hub, ready() rejects after its timeout, saying so', async () => {
    const { result } = await runFixture('cluster-app.mjs', { SCENARIO: 'no-hub' });
    expect(result).toMatchObject({
      ready: false,
      code: 'ERR_COLLECTIVE_TIMEOUT',
      message: expect.stringMatching(/no collective hub answered within 300 ms.*collective\.cluster\(\)/),
    });
    expect((result as { waited: number }).waited).toBeGreaterThanOrEqual(290);
  });

  it('with workers: 0, serves workers the application forks, before and after the call', async () => {
    const result = await run('adopt');
    expect(result.hits).toBe(2);
    expect(result.members).toBe(2);
    const [early, late] = [...result.reports].sort((a, b) => a.id - b.id);
    // The worker forked after the hub has collective's own pipe: no traffic on its IPC.
    expect(late!.appMessages).toEqual([]);
    // The one forked before falls back to tagged IPC (documented): every message is tagged.
    expect(early!.appMessages.length).toBeGreaterThan(0);
    for (const message of early!.appMessages) expect(message).toHaveProperty('collective');
  });
});
