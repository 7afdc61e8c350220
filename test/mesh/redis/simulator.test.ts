import { describe, expect, it } from 'vitest';
import { RedisSimulation, type RedisSimulationResult } from '../../helpers/redis-simulator.js';

// The shipping Redis tier (lib/mesh/redis/), run by its simulator (test/helpers/redis-simulator.ts):
// 3-5 hubs over an in-memory Redis in virtual time that is killed and comes back without its
// last second, hubs cut off it, hubs crashed and restarted without their state under their
// name, skewed clocks, and in half the runs a tiny memory for own ops (entries rebuilt from the
// replica). Every live hub must end with the oracle's state of every op any of them took, the
// same vector, and (quiet) fold everything away.
// `SIM_SEED=12 npx vitest run test/mesh/redis/simulator.test.ts` replays one seed; REDIS_SIM_SEEDS
// sets how many run (default 100), REDIS_SIM_FIRST_SEED where they start; REDIS_SIM_LOG=1 prints
// what the hubs log.
const only = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
const firstSeed = Number(process.env.REDIS_SIM_FIRST_SEED ?? 1);
// Seeds past the default range that found a bug (longer runs): always run too. 4071: the calm
// ended with every hub agreed while an entry of a crashed hub still waited in Redis (restarted
// meanwhile), read only once GC ran; the calm now also waits until every entry is read. 2002: a
// hub that had heard of no other (Redis came back empty while they were cut off) went on folding
// its own ops in the heartbeat after Redis went away again; Redis came back without them, and
// without the snapshot that held them, so only its folded state did: no snapshot could ever
// hold both its ops and the others'. GC now stops while Redis is away.
const FOUND_SEEDS = [4071, 2002];
const range = Array.from({ length: Number(process.env.REDIS_SIM_SEEDS ?? 100) }, (_, i) => firstSeed + i);
const seeds = only !== undefined ? [only] : [...range, ...FOUND_SEEDS.filter((seed) => !range.includes(seed))];

async function check(seed: number): Promise<RedisSimulationResult> {
  const sim = new RedisSimulation(seed);
  try {
    const result = await sim.run(5000);
    const replicas = sim.replicas();
    const oracle = sim.oracle();
    for (const replica of replicas) {
      expect(replica.get() ?? {}, `replica ${replica.id} equals the oracle`).toEqual(oracle);
      expect(replica.vector(), `replica ${replica.id} has the same vector`).toEqual(replicas[0]!.vector());
    }
    await sim.foldAll();
    // Every entry all live hubs read and the stored snapshot covers is trimmed away.
    expect(await sim.trimAll(), 'entries left that every live hub read and the snapshot covers').toBe(0);
    // The stored snapshot is stored again folded, once its ops are (the leader's rule).
    expect(await sim.foldStored(), 'op records left in the stored snapshot').toBe(0);
    for (const replica of replicas) {
      expect(replica.metadata(), `replica ${replica.id} metadata after GC`).toEqual({ nodes: 1, ops: 0 });
      expect(replica.get() ?? {}, `replica ${replica.id} after GC`).toEqual(oracle);
    }
    return { ...result };
  } finally {
    await sim.stop();
  }
}

describe('the shipping Redis tier, simulated', () => {
  it(`converges to the oracle for ${seeds.length} seed(s), and folds everything once quiet`, { timeout: Math.max(60_000, seeds.length * 2000) }, async () => {
    const total = { rebuilt: 0, writes: 0, hubCrashes: 0, redisRestarts: 0, entriesLost: 0, cuts: 0, gaps: 0, bootstraps: 0, snapshots: 0, folds: 0, settleMs: 0 };
    const started = Date.now();
    for (const seed of seeds) {
      let result: RedisSimulationResult;
      try {
        result = await check(seed);
      } catch (error) {
        throw new Error(`Redis simulation seed ${seed} failed; replay it with: SIM_SEED=${seed} npx vitest run test/mesh/redis/simulator.test.ts\n${(error as Error).message}`);
      }
      for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += result[key];
    }
    console.log(`Redis simulation: ${seeds.length} seeds in ${Date.now() - started} ms, ${JSON.stringify(total)}`);
    if (only === undefined && seeds.length >= 50) {
      expect(total.hubCrashes, 'hub crashes').toBeGreaterThan(seeds.length / 4);
      expect(total.redisRestarts, 'Redis restarts').toBeGreaterThan(seeds.length / 4);
      expect(total.entriesLost, 'stream entries Redis lost').toBeGreaterThan(seeds.length / 10);
      expect(total.cuts, 'hubs cut off Redis').toBeGreaterThan(seeds.length / 2);
      expect(total.bootstraps, 'snapshots adopted').toBeGreaterThan(seeds.length / 10);
      expect(total.folds, 'GC rounds that folded').toBeGreaterThan(seeds.length);
      expect(total.rebuilt, 'entries rebuilt from the replica').toBeGreaterThan(seeds.length / 10);
    }
  });
});
