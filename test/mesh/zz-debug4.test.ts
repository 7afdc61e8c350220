import { it } from 'vitest';
import { Simulation } from '../helpers/simulator.js';
it('debug4', () => {
  const sim = new Simulation(Number(process.env.SIM_SEED ?? 1));
  const hooked = new WeakSet();
  const folds: string[] = [];
  const hook = () => { for (const hub of sim.hubs.values()) if (!hooked.has(hub)) { hooked.add(hub);
    hub.protocol.on('peer:error', (e) => { if (e.code === 'ERR_COLLECTIVE_BELOW_HORIZON') console.log(sim.time.now, hub.replica.id, e.message.slice(0, 120)); });
    const origCollect = hub.replica.collect.bind(hub.replica);
    hub.replica.collect = (h: any) => { folds.push(`${sim.time.now} ${hub.replica.id} folds at ${h.wall}.${h.count} members ${JSON.stringify(hub.protocol.frontier().members)} retired ${JSON.stringify(hub.protocol.frontier().retired)}`); origCollect(h); };
    hub.protocol.on('session:open', (s) => console.log(sim.time.now, hub.replica.id, 'open', s.direction, s.context.address, s.peer!.id));
  } };
  const orig = sim.time.advance.bind(sim.time);
  sim.time.advance = (t: number) => { hook(); orig(t); };
  const origRun = (sim as any).run.bind(sim);
  try { origRun(300); } catch (e) { console.log(String(e).slice(0, 100)); }
  for (const f of folds.filter((f) => Number(f.split(" ")[0]) > 1001300)) console.log(f);
  sim.stop();
});
