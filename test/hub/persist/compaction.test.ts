import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NodeId } from '../../../lib/core/clock.js';
import { SnapshotReadings } from '../../../lib/core/live-readings.js';
import { Replica } from '../../../lib/core/replica.js';
import { Persistence, type PersistSettings } from '../../../lib/hub/persist/persistence.js';
import { recover } from '../../../lib/hub/persist/recover.js';
import { waitFor } from '../../helpers/wait.js';

const limits = { maxDepth: 32, maxValueBytes: 1024 * 1024 };
const dirs: string[] = [];
const open: Persistence[] = [];
afterEach(async () => {
  for (const persistence of open.splice(0)) await persistence.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function opened(settings: Partial<PersistSettings>): { dir: string; persistence: Persistence; replica: Replica } {
  const dir = mkdtempSync(join(tmpdir(), 'collective-compaction-'));
  dirs.push(dir);
  const persistence = Persistence.open({ dir, fsync: 'never', intervalMs: 1000, compactBytes: 1 << 30, compactOps: 1 << 30, ...settings }, limits, () => undefined);
  open.push(persistence);
  const replica = new Replica({ id: 'compact01' as NodeId, onApplied: (op) => persistence.record(op) });
  persistence.start(replica.id, (readings) => replica.snapshot(readings));
  return { dir, persistence, replica };
}

describe('compaction of a persisted hub', () => {
  it('compacts once the logs hold more than compactOps ops, however few bytes they take, and not before', async () => {
    const { dir, persistence, replica } = opened({ compactOps: 100 });
    // The same counter each time: a few bytes an op, far below compactBytes.
    for (let i = 0; i < 100; i++) replica.incr('hits', 1);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(persistence.stats().compactions).toBe(0);
    replica.incr('hits', 1);
    await waitFor(() => persistence.stats().compactions === 1, 5000, 'a compaction');
    expect(persistence.stats().logBytes).toBeLessThan(4096);
    await persistence.close();
    open.length = 0;
    // What a restart replays: the snapshot, and no op of the logs.
    const read = recover(dir, limits);
    expect(read.ops).toHaveLength(0);
    expect(Replica.fromSnapshot(read.snapshot!, limits).get('hits')).toBe(101);
  });

  it('ends the readings its snapshot took of parents read in place once the snapshot is written', async () => {
    const added = vi.spyOn(SnapshotReadings.prototype, 'add');
    const ended = vi.spyOn(SnapshotReadings.prototype, 'end');
    try {
      const { persistence, replica } = opened({ compactOps: 300 });
      // A parent of many keys, folded: the snapshot reads it in place.
      for (let i = 0; i < 200; i++) replica.set(['sessions', `s${i}`], { user: i });
      replica.collect(replica.frontier().clock);
      for (let i = 0; i < 101; i++) replica.incr('hits', 1);
      await waitFor(() => persistence.stats().compactions === 1, 5000, 'a compaction');
      expect(added).toHaveBeenCalled();
      expect(ended).toHaveBeenCalledTimes(1);
    } finally {
      added.mockRestore();
      ended.mockRestore();
    }
  });
});
