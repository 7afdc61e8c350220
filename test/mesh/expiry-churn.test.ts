import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runFixture } from '../helpers/processes.js';

// A cache under churn (test/fixtures/expiry-churn.mjs): two hubs linked
// over loopback TCP take 1M keys with a 300 ms ttl. Once every key expired and GC folded it
// away, both hubs hold the bare root and the heap is back near where it started.
afterEach(killAll);

const KEYS = Number(process.env.CHURN_KEYS ?? 1_000_000);
// What may remain beyond the heap before the run: caches the run warmed (the path cache,
// compiled code, socket buffers), not the keys (1M keys held take hundreds of MB).
const HEAP_SLACK_MB = 32;

describe('expiry under churn', () => {
  it(`folds ${KEYS} short-lived keys away: metadata and heap return to a small bound`, { timeout: 240_000 }, async () => {
    const { result } = await runFixture('expiry-churn.mjs', { N: String(KEYS) }, 230_000);
    const run = result as { keys: number; writtenMs: number; settledMs: number; heapBeforeMB: number; heapPeakMB: number; heapAfterMB: number; metadata: { nodes: number; ops: number }[]; cacheKeys: number[]; live: boolean[] };
    console.log(`expiry churn: ${JSON.stringify(run)}`);
    expect(run.keys).toBe(KEYS);
    expect(run.metadata).toEqual([{ nodes: 1, ops: 0 }, { nodes: 1, ops: 0 }]);
    expect(run.cacheKeys).toEqual([0, 0]);
    expect(run.live).toEqual([true, true]); // what did not expire stays
    // The keys were there: the peak shows them, the end does not.
    expect(run.heapPeakMB).toBeGreaterThan(run.heapBeforeMB + 50);
    expect(run.heapAfterMB).toBeLessThan(run.heapBeforeMB + HEAP_SLACK_MB);
  });
});
