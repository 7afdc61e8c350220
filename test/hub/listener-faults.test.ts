import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runFixture } from '../helpers/processes.js';

// A listener of the application that throws while collective handles a transport's message
// (test/fixtures/listener-fault.mjs, in a process of its own to catch the uncaught exception).
afterEach(killAll);

describe('a listener that throws inside a transport callback', () => {
  it('stops neither the batch, nor the other listeners, nor the link; its error comes out afterwards', async () => {
    const { result } = await runFixture('listener-fault.mjs', {});
    const run = result as { hub: Record<string, unknown>; member: unknown; settled: string[]; next: string; others: number; uncaught: string[] };
    expect(run.hub).toEqual({ a: 0, b: 1, boom: 2, c: 3, d: 4, after: 'the batch', watched: 1, 'after-watch': 1 });
    expect(run.member).toEqual(run.hub);
    expect(run.settled).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(run.next).toBe('applied');
    // The second listener saw every change, the throwing one's included.
    expect(run.others).toBe(8);
    expect(run.uncaught).toEqual(['a bug in a change listener', 'a bug in a watch listener']);
  });
});
