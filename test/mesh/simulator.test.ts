import { describe, expect, it } from 'vitest';
import { Simulation, type SimulationResult } from '../helpers/simulator.js';

// The shipping peer protocol (lib/mesh/), run by the simulator (test/helpers/simulator.ts):
// 3-5 hubs over links that lose, duplicate, delay and reorder frames, break, and are cut apart;
// clocks that skew and jump back; a hub that crashes and comes back under a new id; GC by the
// real membership rules; in half the runs, hubs that persist (their process crashes and they come
// back from their disk as themselves, or their machine does and the unsynced tail is lost);
// writes with expiries (set/incr/append { ttl }, keepTtl, expire) that
// come due while it all happens; all in virtual time, checked against the oracle read at one
// common time.
// `SIM_SEED=123 npm run sim` replays one seed; SIM_SEEDS sets how many run (default 1000),
// SIM_FIRST_SEED where they start.
const only = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
const seedCount = Number(process.env.SIM_SEEDS ?? 1000);
const firstSeed = Number(process.env.SIM_FIRST_SEED ?? 1);
// Seeds past the default range that found a bug (longer runs): always run too. 30332: a hub
// restarted from its disk under a new id, while the only other hubs that had met two of its
// group came back without their state; nobody knew where those two had lived, and GC waited
// for them forever (a linked hub now keeps what it knows of its group on disk).
// 87547: hubs whose clocks the simulator drew up to 400 ms apart, past the 250 ms the README
// asks for (it now draws them within it).
const FOUND_SEEDS = [30332, 87547];
const range = Array.from({ length: seedCount }, (_, i) => firstSeed + i);
const seeds = only !== undefined ? [only] : [...range, ...FOUND_SEEDS.filter((seed) => !range.includes(seed))];

// The oracle's value at each path of `read.paths` (undefined where there is none).
function pathsOf(tree: unknown): Record<string, unknown> {
  const keys = ['a', 'b', 'c'];
  const paths = keys.flatMap((a) => [[a], ...keys.flatMap((b) => [[a, b], ...keys.map((c) => [a, b, c])])]);
  return Object.fromEntries(
    paths.map((path) => {
      let value: unknown = tree;
      for (const key of path) value = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
      return [path.join('.'), value];
    }),
  );
}

function check(seed: number): SimulationResult {
  const sim = new Simulation(seed);
  try {
    const result = sim.run(300);
    const replicas = sim.replicas();
    // Every replica, read at one common time, holds the oracle's state for that time.
    const read = sim.readAll();
    const oracle = sim.oracle(read.at);
    read.states.forEach((state, i) => {
      expect(state, `replica ${replicas[i]!.id} equals the oracle at ${read.at}`).toEqual(oracle);
      expect(read.paths[i], `replica ${replicas[i]!.id} path by path`).toEqual(pathsOf(oracle));
      expect(replicas[i]!.vector(), `replica ${replicas[i]!.id} has the same vector`).toEqual(replicas[0]!.vector());
    });
    const received = sim.received();
    for (const key of sim.acknowledged().keys()) expect(received.has(key), `acknowledged write ${key} survived`).toBe(true);
    // Every write its hub had fsynced (acknowledged as durable) survives its crashes.
    for (const key of sim.durable().keys()) expect(received.has(key), `durable write ${key} survived`).toBe(true);
    // No op is ever applied below a fold. Only a clock off by seconds may make the group refuse
    // writes (the documented limit of GC); with every clock within the assumption, none is.
    expect(result.appliedLate, 'ops applied below the horizon their replica folded at').toBe(0);
    expect(result.malformed.join('; '), 'frames a hub could not decode').toBe('');
    if (result.rogueClocks === 0) expect(result.lateOps, 'links refused for ops below the receiver’s GC horizon').toBe(0);
    // Quiet now: every hub folds everything, down to the bare root, and the data stays.
    sim.foldAll();
    const after = sim.readAll();
    const expected = sim.oracle(after.at);
    after.states.forEach((state, i) => {
      expect(replicas[i]!.metadata(), `replica ${replicas[i]!.id} metadata after GC`).toEqual({ nodes: 1, ops: 0 });
      expect(state, `replica ${replicas[i]!.id} after GC`).toEqual(expected);
      expect(after.paths[i], `replica ${replicas[i]!.id} after GC, path by path`).toEqual(pathsOf(expected));
    });
    return { ...sim.stats };
  } finally {
    sim.stop();
  }
}

describe('the shipping peer protocol, simulated', () => {
  it(`converges to the oracle for ${seeds.length} seed(s), losing nothing acknowledged, folding safely`, { timeout: Math.max(60_000, seeds.length * 200) }, () => {
    const total = { processCrashes: 0, machineCrashes: 0, tailOpsLost: 0, compactions: 0, writes: 0, crashes: 0, framesLost: 0, linksBroken: 0, cuts: 0, resends: 0, gaps: 0, snapshots: 0, folds: 0, rogueClocks: 0, lateArrivals: 0, lateOps: 0, remedies: 0, bystanders: 0, settleMs: 0, expiries: 0, expired: 0 };
    const started = Date.now();
    for (const seed of seeds) {
      let result: SimulationResult;
      try {
        result = check(seed);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`simulation seed ${seed} failed; replay it with: SIM_SEED=${seed} npm run sim\n${message}`);
      }
      for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += result[key] as number;
    }
    console.log(`simulation: ${seeds.length} seeds in ${Date.now() - started} ms, ${JSON.stringify(total)}`);
    // The run is only evidence if the faults it claims to cover actually happened.
    if (only === undefined && seeds.length >= 100) {
      expect(total.crashes, 'crashes exercised').toBeGreaterThan(seeds.length / 10);
      expect(total.framesLost, 'frames lost, duplicated or reordered').toBeGreaterThan(seeds.length);
      expect(total.linksBroken, 'links broken').toBeGreaterThan(seeds.length);
      expect(total.cuts, 'partitions').toBeGreaterThan(seeds.length);
      expect(total.gaps, 'sequence gaps repaired').toBeGreaterThan(seeds.length / 10);
      expect(total.resends, 'losses repaired').toBeGreaterThan(seeds.length / 2);
      expect(total.folds, 'GC rounds that folded').toBeGreaterThan(seeds.length);
      expect(total.rogueClocks, 'clocks outside the assumption').toBeGreaterThan(seeds.length / 50);
      expect(total.expiries, 'expire calls on something there').toBeGreaterThan(seeds.length);
      expect(total.expired, 'expiries that came due during runs').toBeGreaterThan(seeds.length);
      expect(total.processCrashes, 'persisted hubs restarted as themselves').toBeGreaterThan(seeds.length / 20);
      expect(total.machineCrashes, 'persisted hubs that lost their unsynced tail').toBeGreaterThan(seeds.length / 20);
      expect(total.tailOpsLost, 'ops lost from unsynced tails').toBeGreaterThan(seeds.length / 20);
      expect(total.compactions, 'snapshots of persisted hubs').toBeGreaterThan(seeds.length / 10);
    }
  });
});
