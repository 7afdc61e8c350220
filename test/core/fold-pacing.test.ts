import { describe, expect, it } from 'vitest';
import { FoldPacing } from '../../lib/core/fold-pacing.js';
import { FOLD_EVERY } from '../../lib/core/tree.js';

describe('FoldPacing', () => {
  it('starts from a quarter of FOLD_EVERY, doubles after quick folds up to FOLD_EVERY, halves after slow ones down to a quarter', () => {
    const pacing = new FoldPacing();
    expect(pacing.every).toBe(FOLD_EVERY / 4);
    expect(pacing.took(1)).toBe(FOLD_EVERY / 2);
    expect(pacing.took(1)).toBe(FOLD_EVERY);
    expect(pacing.took(1)).toBe(FOLD_EVERY);
    // Between quick and slow: it stays.
    expect(pacing.took(12)).toBe(FOLD_EVERY);
    expect(pacing.took(60)).toBe(FOLD_EVERY / 2);
    expect(pacing.took(60)).toBe(FOLD_EVERY / 4);
    expect(pacing.took(60)).toBe(FOLD_EVERY / 4);
    expect(pacing.took(12)).toBe(FOLD_EVERY / 4);
    expect(pacing.every).toBe(FOLD_EVERY / 4);
  });
});
