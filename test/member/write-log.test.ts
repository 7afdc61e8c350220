import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WriteLog } from '../../lib/member/write-log.js';

describe('WriteLog (pending writes, field by field)', () => {
  it('holds exactly the entries pushed and not yet shifted, by id, across compactions', () => {
    const step = fc.oneof(fc.record({ push: fc.integer({ min: 1, max: 2500 }) }), fc.record({ shift: fc.integer({ min: 1, max: 2500 }) }), fc.constant({ clear: true as const }));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
        const log = new WriteLog(7);
        // The model: [id, path, value] of what is held.
        let model: [number, string[], number][] = [];
        let nextId = 7;
        for (const s of steps) {
          if ('push' in s) {
            for (let i = 0; i < s.push; i++) {
              const id = nextId++;
              const entry: [number, string[], number] = [id, ['k', String(id % 13)], id * 2];
              log.push(id % 3 === 0 ? 'incr' : 'set', entry[1], entry[2]);
              model.push(entry);
            }
          } else if ('shift' in s) {
            for (let i = 0; i < s.shift && model.length > 0; i++) {
              log.shift();
              model.shift();
            }
          } else {
            log.clear(nextId);
            model = [];
          }
          expect(log.size).toBe(model.length);
          expect(log.firstId).toBe(model[0]?.[0] ?? nextId);
          for (const entry of [model[0], model[model.length >> 1], model[model.length - 1]]) {
            if (entry === undefined) continue;
            const [id, path, value] = entry;
            expect(log.holds(id)).toBe(true);
            expect(log.kind(id)).toBe(id % 3 === 0 ? 'incr' : 'set');
            expect(log.path(id)).toBe(path);
            expect(log.value(id)).toBe(value);
          }
          expect(log.holds(log.firstId - 1)).toBe(false);
          expect(log.holds(log.firstId + log.size)).toBe(false);
        }
      }),
      { numRuns: 100 },
    );
  });
});
