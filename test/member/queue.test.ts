import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../lib/member/queue.js';

describe('Queue (pending writes, forwarded thread writes)', () => {
  it('behaves as an array under any mix of push, removal from the front and from the middle, across chunks', () => {
    const step = fc.oneof(
      fc.record({ push: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ shift: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ removeAt: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const queue = new Queue<{ n: number }>();
        const model: { n: number }[] = [];
        let next = 0;
        for (const s of steps) {
          if ('push' in s) {
            for (let i = 0; i < s.push; i++) {
              const item = { n: next++ };
              queue.push(item);
              model.push(item);
            }
          } else if ('shift' in s) {
            for (let i = 0; i < s.shift && model.length > 0; i++) queue.remove(model.shift()!);
          } else if (model.length > 0) {
            const [item] = model.splice(s.removeAt % model.length, 1);
            queue.remove(item!);
          }
          expect(queue.length).toBe(model.length);
          expect(queue.peek()).toBe(model[0]);
        }
        expect(queue.toArray()).toEqual(model);
      }),
      { numRuns: 200 },
    );
  });
});
