import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Collective, type StartOptions } from '../../../lib/index.js';
import { logName } from '../../../lib/hub/persist/directory.js';
import { encodeRecord, readRecords } from '../../../lib/hub/persist/records.js';
import { recover } from '../../../lib/hub/persist/recover.js';
import { decodeGroup } from '../../../lib/wire/peer.js';
import { waitFor } from '../../helpers/wait.js';

// A linked hub keeps what it knows of its group on disk: after a restart it still knows the
// hubs it met and where they lived, though every hub that also knew may be gone by then (the
// simulator's seed 30332: without it, GC waited for a dead hub forever).
const dirs: string[] = [];
const hubs: Collective[] = [];
const limits = { maxDepth: 32, maxValueBytes: 1 << 20 };
const linked: StartOptions = { listen: { host: '127.0.0.1', port: 0 }, heartbeatMs: 200, antiEntropyMs: 300 };

async function start(options: StartOptions): Promise<Collective> {
  const hub = await Collective.start({ ...linked, ...options });
  hubs.push(hub);
  return hub;
}

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'collective-group-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// What the directory holds of the hub's group now (the hub may still run: logs are read as a
// crash would leave them).
function keptGroup(dir: string) {
  const group = recover(dir, limits).group;
  return group === undefined ? undefined : decodeGroup(group);
}

describe('persist: what a linked hub knows of its group', () => {
  it('is written as it changes, read back from the logs and from a snapshot, and counted again after a restart', async () => {
    const dir = freshDir();
    const a = await start({ persist: { dir } });
    const b = await start({ peers: [{ host: '127.0.0.1', port: a.port! }] });
    await waitFor(() => a.stats().gc.members === 1 && b.stats().gc.members === 1, 5000, 'the two hubs to count each other');
    await a.set('k', 1);
    // In the logs, as a kill -9 would leave them: b, and the address a reached it at.
    await waitFor(() => keptGroup(dir)?.members.includes(b.id as never) === true, 5000, 'the group in the logs');
    const b_id = b.id;
    await b.close();
    await a.close();
    hubs.length = 0;
    // Closed cleanly: a snapshot, whose record holds the group.
    const snapshot = readRecords(readFileSync(join(dir, 'snapshot'))).records[0] as { group?: unknown };
    expect(decodeGroup(snapshot.group).members).toContain(b_id);
    // Restarted alone: it counts b again (GC waits for it, or for its address to answer as another).
    const again = await start({ persist: { dir } });
    expect(again.id).toBe(a.id);
    expect(again.stats().gc.members).toBe(1);
    expect(again.get('k')).toBe(1);
  });

  it('leaves out a malformed group read back from disk, logged, and starts as a hub that knows no group', async () => {
    const dir = freshDir();
    const first = await start({ persist: { dir } });
    await first.set('k', 1);
    await first.close();
    hubs.length = 0;
    // A record with a good checksum but a group no hub wrote, in a log after the snapshot.
    const snapshot = readRecords(readFileSync(join(dir, 'snapshot'))).records[0] as { id: string; generation: number };
    const header = { v: 1, id: snapshot.id, boot: 'elsewhere', generation: snapshot.generation };
    writeFileSync(join(dir, logName(snapshot.generation)), Buffer.concat([encodeRecord(header), encodeRecord({ g: { m: ['__proto__'], r: 'x' } }), encodeRecord({ closed: true })]));
    const again = await start({ persist: { dir } });
    expect(again.id).toBe(first.id);
    expect(again.stats().gc.members).toBe(0);
    expect(again.get('k')).toBe(1);
  });
});
