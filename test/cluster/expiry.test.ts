import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runFixture } from '../helpers/processes.js';

// Expiry across real processes (test/fixtures/cluster-expiry.mjs): two cluster primaries linked
// as hubs over TCP, each with 2 forked workers, each worker with a tinypool thread.
afterEach(killAll);

interface Seen {
  lateMs: number;
  events: number;
}
interface Report {
  tag: string;
  session: Seen;
  thread: Seen;
  windows: number[];
  expireResult: boolean | null;
  keptValue: unknown;
}
interface Result {
  role: string;
  hub: Seen;
  reports: Report[];
}

// How late a process may see a value go past the time its ttl said: its own clock hides it
// (here every process shares one clock), so this is polling and scheduling on a busy machine.
const LATE_BOUND_MS = 1000;

describe('expiry on two machines, in hubs, workers and threads', () => {
  it('a session expires everywhere on time, once per process; a rate limiter counts exactly per window; expire(null) keeps a value', { timeout: 60_000 }, async () => {
    let reportPort!: (port: number) => void;
    const portOfA = new Promise<number>((resolve) => (reportPort = resolve));
    const a = runFixture('cluster-expiry.mjs', { ROLE: 'a' }, 50_000, (line) => {
      if (line.startsWith('PORT ')) reportPort(Number(line.slice(5)));
    });
    const b = runFixture('cluster-expiry.mjs', { ROLE: 'b', PEER: String(await portOfA) }, 50_000);
    const results = (await Promise.all([a, b])).map((run) => run.result as Result);
    const seen: [string, Seen][] = [];
    for (const result of results) {
      seen.push([`hub ${result.role}`, result.hub]);
      expect(result.reports).toHaveLength(2);
      for (const report of result.reports) {
        seen.push([`worker ${report.tag}`, report.session], [`thread of ${report.tag}`, report.thread]);
        // 4 workers x 25 requests in the first window, x 10 in the next: no count leaks across.
        expect(report.windows, `windows seen by ${report.tag}`).toEqual([100, 40]);
        expect(report.keptValue, `keep.k in ${report.tag}`).toBe('v');
        if (report.tag === 'b1') expect(report.expireResult).toBe(true);
      }
    }
    expect(seen).toHaveLength(2 + 4 + 4);
    for (const [who, { lateMs, events }] of seen) {
      expect(lateMs, `${who} saw the session go before its ttl said`).toBeGreaterThanOrEqual(0);
      expect(lateMs, `${who} saw the session go late`).toBeLessThan(LATE_BOUND_MS);
      expect(events, `expire changes heard by ${who}`).toBe(1);
    }
    console.log(`session gone, ms after its ttl: ${seen.map(([who, s]) => `${who} ${s.lateMs}`).join(', ')}`);
  });
});
