import { foldTuning } from '../../lib/core/fold.js';
import { COLUMNS_FROM, ownOpsTuning } from '../../lib/core/own-ops.js';

// The thresholds of foldTuning.keepNodeKeys that seeds take in turn: parents GC folds into in
// place and keeps as nodes from 1 or 2 keys (the simulators name 3 keys a level), or from 64
// as in a hub, where they never are here.
const KEEP_NODE_KEYS = [1, 2, 64];

// From how many own ops nodes keep them as columns, seeds in turn: from the second (nearly every
// node that holds more than one), or as in a hub.
const COLUMNS_FROM_OPS = [2, COLUMNS_FROM];

/**
 * Sets how GC keeps parents, and from how many ops a node keeps them as columns, for the run of
 * `seed`: from the seed, not a generator, so seeds keep their runs.
 */
export function tuneFoldsFor(seed: number): void {
  foldTuning.keepNodeKeys = KEEP_NODE_KEYS[seed % KEEP_NODE_KEYS.length]!;
  ownOpsTuning.columnsFrom = COLUMNS_FROM_OPS[Math.floor(seed / KEEP_NODE_KEYS.length) % COLUMNS_FROM_OPS.length]!;
}
