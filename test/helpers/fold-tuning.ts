import { foldTuning } from '../../lib/core/fold.js';

// The thresholds of foldTuning.keepNodeKeys that seeds take in turn: parents GC folds into in
// place and keeps as nodes from 1 or 2 keys (the simulators name 3 keys a level), or from 64
// as in a hub, where they never are here.
const KEEP_NODE_KEYS = [1, 2, 64];

/** Sets how GC keeps parents for the run of `seed`: from the seed, not a generator, so seeds keep their runs. */
export function tuneFoldsFor(seed: number): void {
  foldTuning.keepNodeKeys = KEEP_NODE_KEYS[seed % KEEP_NODE_KEYS.length]!;
}
