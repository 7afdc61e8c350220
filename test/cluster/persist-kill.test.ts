import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// kill -9 of a cluster primary that persists with fsync 'always', in a loop: every durable write
// acknowledged before a kill is there after the restart, none counts twice, the workers of the
// next start re-sync to it, and the hub keeps its id.
const CYCLES = 50;
let child: ChildProcess | undefined;
let dir: string | undefined;

afterEach(() => {
  // The primary leads its own process group: its workers go with it.
  if (child?.pid !== undefined) killGroup(child.pid);
  child = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

// Whether a process of group `pgid` still runs. Exited ones wait as zombies until init reaps
// them (on some machines a second later): they hold nothing, so they do not count.
function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after its closing paren.
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(group) === pgid && state !== 'Z') return true;
  }
  return false;
}

interface Start {
  id: string;
  state: Record<string, Record<string, number>>;
  views: Map<string, Record<string, Record<string, number>>>;
  acked: Map<string, number>;
}

describe('persist: kill -9 of a cluster primary, in a loop', () => {
  it(`keeps every durable write acknowledged before the kill, none twice, over ${CYCLES} kills`, { timeout: 240_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'collective-kill-'));
    const acked = new Map<string, number>();
    let id: string | undefined;
    const random = mulberry(12345);
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const run: Start = { id: '', state: {}, views: new Map(), acked: new Map() };
      const primary = spawn(process.execPath, [join(fixtures, 'persist-primary.mjs')], {
        env: { ...process.env, DIR: dir, CYCLE: String(cycle) },
        stdio: ['ignore', 'pipe', 'inherit'],
        detached: true,
      });
      child = primary;
      let pending = '';
      primary.stdout!.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) readLine(line, run);
      });
      // Kill after a random number of acknowledged writes of each worker (0 to 15), or at once.
      const target = Math.floor(random() * 16);

      await waitFor(() => run.id !== '' && run.views.size === 2 && [...run.acked.values()].filter((n) => n >= target).length === 2, 30_000, `cycle ${cycle}: both workers at ${target} acknowledged writes`);
      process.kill(primary.pid!, 'SIGKILL');
      await waitFor(() => primary.exitCode !== null || primary.signalCode !== null, 10_000, 'the primary to die');
      // Its workers leave once their channel to it closes.
      await waitFor(() => !groupAlive(primary.pid!), 10_000, 'the workers to leave');
      child = undefined;

      // What this start came back with: every acknowledged write, at most the one in flight more.
      id ??= run.id;
      expect(run.id, `cycle ${cycle}: the hub's id`).toBe(id);
      for (const [key, count] of acked) {
        const [past, worker] = key.split('.') as [string, string];
        const value = run.state[past]?.[worker] ?? 0;
        expect(value, `cycle ${cycle}: c.${key}`).toBeGreaterThanOrEqual(count);
        expect(value, `cycle ${cycle}: c.${key}`).toBeLessThanOrEqual(count + 1);
        acked.set(key, value); // what it holds now is what later starts must hold
      }
      // The workers started from the hub's state (this cycle's own counters aside: they move).
      const past = (state: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(state).filter(([key]) => key !== String(cycle)));
      for (const [worker, view] of run.views) expect(past(view), `cycle ${cycle}: worker ${worker} re-synced`).toEqual(past(run.state));
      for (const [key, count] of run.acked) acked.set(key, count);
    }
    expect(acked.size).toBeGreaterThan(CYCLES);
  });
});

function readLine(line: string, run: Start): void {
  const [kind, ...rest] = line.split(' ');
  if (kind === 'ID') run.id = rest[0]!;
  else if (kind === 'STATE') run.state = JSON.parse(rest.join(' '));
  else if (kind === 'VIEW') run.views.set(rest[0]!, JSON.parse(rest.slice(1).join(' ')));
  else if (kind === 'ACK') run.acked.set(rest[0]!, Number(rest[1]));
}

// A small seeded generator: the same kill points on every run of the test.
function mulberry(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
