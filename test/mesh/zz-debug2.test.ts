import { it } from 'vitest';

import { Simulation } from '../helpers/simulator.js';
import { oracleState } from '../helpers/oracle.js';
it('debug2', () => {
  const sim = new Simulation(Number(process.env.SIM_SEED ?? 1));
  try { sim.run(300); } catch (e) { console.log(String(e).slice(0, 60)); }
  const all = sim.received();
  const union = oracleState(all.values());
  for (const hub of sim.hubs.values()) {
    console.log(hub.replica.id, JSON.stringify(hub.replica.get()));
    const missing = [...all.entries()].filter(([k]) => !hub.log.has(k)).map(([k, op]) => `${k} ${op.kind} ${op.path.join('.')} ${JSON.stringify(op.value)} @${op.stamp.wall}.${op.stamp.count}`);
    console.log('  missing:', missing.join(' | '));
  }
  console.log('union', JSON.stringify(union));
  const ops = [...all.values()].filter((op) => op.stamp.wall >= Number(process.env.FROM ?? 1540)).sort((a, b) => a.stamp.wall - b.stamp.wall || a.stamp.count - b.stamp.count || (a.stamp.node < b.stamp.node ? -1 : 1));
  for (const op of ops) console.log(`${op.stamp.node}#${op.seq} ${op.kind} ${op.path.join('.')} ${JSON.stringify(op.value)} @${op.stamp.wall}.${op.stamp.count}`);
  sim.stop();
});
