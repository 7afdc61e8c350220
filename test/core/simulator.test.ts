import { describe, expect, it } from 'vitest';
import { Simulation, type GcMode, type SimulationResult } from '../helpers/simulator.js';

// `SIM_SEED=123 npm run sim` replays one seed; SIM_SEEDS sets how many run (default 1000),
// SIM_FIRST_SEED where they start.
const only = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
const seedCount = Number(process.env.SIM_SEEDS ?? 1000);
const firstSeed = Number(process.env.SIM_FIRST_SEED ?? 1);
const seeds = only !== undefined ? [only] : Array.from({ length: seedCount }, (_, i) => firstSeed + i);

function check(seed: number, gc: GcMode): SimulationResult {
  const sim = new Simulation(seed, gc);
  const result = sim.run(300);
  const replicas = [...sim.peers.values()].map((peer) => peer.replica);
  const oracle = sim.oracle();
  for (const replica of replicas) {
    expect(replica.get(), `replica ${replica.id} equals the oracle`).toEqual(oracle);
    expect(replica.vector(), `replica ${replica.id} has the same vector`).toEqual(replicas[0]!.vector());
  }
  const received = sim.received();
  for (const key of sim.acknowledged.keys()) expect(received.has(key), `acknowledged write ${key} survived`).toBe(true);
  expect(result.lateOps, 'ops that reached a replica below the horizon it folded at').toBe(0);
  // After quiescence every op is below the horizon: metadata folds down to the bare root.
  sim.collectAll();
  for (const replica of replicas) {
    expect(replica.metadata(), `replica ${replica.id} metadata after GC`).toEqual({ nodes: 1, ops: 0 });
    expect(replica.get(), `replica ${replica.id} after GC`).toEqual(oracle);
  }
  return result;
}

describe('deterministic simulation of replicas over lossy, partitioned links', () => {
  // About 6 ms a seed on a 2-core machine; the timeout scales with the number of seeds.
  for (const gc of ['global', 'gossip'] as const) {
    const how = gc === 'global' ? 'GC from every frontier at once' : 'GC by gossiped frontiers, each replica on its own';
    it(`converges to the oracle for ${seeds.length} seed(s), ${how}`, { timeout: Math.max(60_000, seeds.length * 50) }, () => {
      const total = { writes: 0, crashes: 0, snapshots: 0, collections: 0, gaps: 0 };
      for (const seed of seeds) {
        let result: SimulationResult;
        try {
          result = check(seed, gc);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`simulation seed ${seed} (${gc} GC) failed; replay it with: SIM_SEED=${seed} npm run sim\n${message}`);
        }
        total.writes += result.writes;
        total.crashes += result.crashes;
        total.snapshots += result.snapshots;
        total.collections += result.collections;
        total.gaps += result.gaps;
      }
      console.log(`simulation (${gc} GC): ${seeds.length} seeds, ${JSON.stringify(total)}`);
      // The run is only evidence if the faults it claims to cover actually happened.
      if (only === undefined && seeds.length >= 100) {
        expect(total.crashes, 'crashes exercised').toBeGreaterThan(seeds.length / 10);
        expect(total.gaps, 'sequence gaps exercised').toBeGreaterThan(seeds.length / 2);
        if (gc === 'global') {
          expect(total.snapshots, 'snapshot resyncs exercised').toBeGreaterThan(0);
          expect(total.collections, 'GC rounds exercised').toBeGreaterThan(seeds.length / 2);
        } else {
          // Each replica folds only with a fresh frontier from every member over lossy,
          // partitioned links: rarer, and what this mode is for is that it never folds unsafely.
          expect(total.collections, 'GC rounds exercised').toBeGreaterThan(seeds.length / 20);
        }
      }
    });
  }
});
