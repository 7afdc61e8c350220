import { describe, expect, it } from 'vitest';
import { ABSENT, type Slot } from '../../lib/core/node.js';
import { overlay } from '../../lib/member/overlay.js';
import { PendingWrites } from '../../lib/member/pending.js';

// What settled so far, in the order it settled.
function tracker(): { settled: string[]; track(name: string, promise: Promise<unknown>): void } {
  const settled: string[] = [];
  return {
    settled,
    track(name, promise) {
      promise.then(
        (value) => settled.push(`${name}=${String(value)}`),
        (error: Error) => settled.push(`${name}!${error.message}`),
      );
    },
  };
}

const flushed = () => new Promise((resolve) => setImmediate(resolve));

describe('PendingWrites', () => {
  it("resolves a message's writes together once the last is acknowledged, and a cas by its own outcome", async () => {
    const pending = new PendingWrites();
    const { settled, track } = tracker();
    const first = pending.add('set', ['a'], 1);
    expect(pending.add('incr', ['b'], 2)).toBe(first); // the same message: one promise
    track('message1', first);
    track('cas3', pending.add('cas', ['c'], 3, null));
    expect(pending.lastId).toBe(3);
    expect(pending.add('set', ['d'], 4)).toBe(first); // a cas between them does not split the message
    pending.endBatch();
    const second = pending.add('delete', ['a'], undefined);
    expect(second).not.toBe(first);
    track('message2', second);

    pending.acknowledgeUpTo(2);
    pending.settle();
    await flushed();
    expect(settled).toEqual([]); // write 4 of the first message is not acknowledged yet
    expect(pending.size).toBe(3);

    pending.casOutcome(3, false);
    pending.acknowledgeUpTo(4);
    pending.settle();
    await flushed();
    expect(settled).toEqual(['cas3=false', 'message1=undefined']);
    expect(pending.size).toBe(1);

    pending.acknowledgeUpTo(5);
    pending.settle();
    await flushed();
    expect(settled).toEqual(['cas3=false', 'message1=undefined', 'message2=undefined']);
    expect(pending.size).toBe(0);
  });

  it('hands a read every pending write under its key, in order, and the overlay keeps each it needs', () => {
    const pending = new PendingWrites();
    pending.add('set', ['a', 'x'], 1);
    pending.add('set', ['b'], 'elsewhere');
    pending.add('incr', ['a', 'n'], 3);
    pending.add('cas', ['a', 'x'], 9, 1); // decided by the hub: never replayed
    pending.add('set', ['a', 'y'], { deep: true });
    pending.add('incr', ['a', 'n'], 4);
    const nothingConfirmed = (): Slot => ABSENT;
    expect(overlay(nothingConfirmed, ['a'], pending.replayedFor('a')!)).toEqual({ x: 1, n: 7, y: { deep: true } });
    expect(overlay(nothingConfirmed, [], pending.allReplayed()!)).toEqual({ a: { x: 1, n: 7, y: { deep: true } }, b: 'elsewhere' });
    expect(pending.replayedFor('c')).toBeUndefined();
  });

  it('rejects every promise still waiting, messages and cas alike, and starts empty', async () => {
    const pending = new PendingWrites();
    const { settled, track } = tracker();
    track('message1', pending.add('set', ['a'], 1));
    track('cas2', pending.add('cas', ['a'], 2, 1));
    pending.endBatch();
    track('message2', pending.add('set', ['b'], 3));
    pending.acknowledgeUpTo(1);
    pending.settle();
    pending.rejectAll(new Error('gone'));
    await flushed();
    expect(settled.sort()).toEqual(['cas2!gone', 'message1=undefined', 'message2!gone']);
    expect(pending.size).toBe(0);
    expect(pending.replayedFor('a')).toBeUndefined();
  });
});
