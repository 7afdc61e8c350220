import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Collective } from '../../../lib/index.js';
import { logName } from '../../../lib/hub/persist/directory.js';
import { encodeRecord, readRecords } from '../../../lib/hub/persist/records.js';
import { recover } from '../../../lib/hub/persist/recover.js';
import { JSON_SLICE_CHARS } from '../../../lib/wire/json-slices.js';
import { waitFor } from '../../helpers/wait.js';
import { fixtures } from '../../helpers/processes.js';
import { Replica, type ReplicaSnapshot } from '../../../lib/core/replica.js';

// A hub's store on disk, in this process, with real files: what comes back after a restart,
// and what a damaged directory does.
const dirs: string[] = [];
const hubs: Collective[] = [];
const limits = { maxDepth: 32, maxValueBytes: 1 << 20 };

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'collective-persist-'));
  dirs.push(dir);
  return dir;
}

async function start(dir: string, extra: Record<string, unknown> = {}): Promise<Collective> {
  const hub = await Collective.start({ persist: { dir, ...extra } });
  hubs.push(hub);
  return hub;
}

afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// The last seq of `origin` in the directory's snapshot (a hub closed cleanly leaves only that).
function seqInSnapshot(dir: string, origin: string): number {
  const record = readRecords(readFileSync(join(dir, 'snapshot'))).records[0] as { snapshot: ReplicaSnapshot };
  return Replica.fromSnapshot(record.snapshot, limits).vector()[origin]?.seq ?? 0;
}

// A hub in a process of its own that persists to `dir`, sets k1..k`count`, and is killed
// with SIGKILL: its logs stay as a crash leaves them. Resolves with its id.
async function crashedWriter(dir: string, count: number, compactBytes?: number): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, DIR: dir, COUNT: String(count) };
  if (compactBytes !== undefined) env.COMPACT_BYTES = String(compactBytes);
  const writer = spawn(process.execPath, [join(fixtures, 'persist-writer.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  writer.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitFor(() => output.includes('\n'), 15_000, 'the writer to be ready');
  } finally {
    writer.kill('SIGKILL');
  }
  await new Promise((resolve) => (writer.exitCode !== null || writer.signalCode !== null ? resolve(undefined) : writer.once('exit', resolve)));
  const [, id] = /^READY (\S+)/.exec(output) ?? [];
  if (id === undefined) throw new Error(`the writer said: ${output}`);
  return id;
}

function logFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('log-')).sort();
}

// Rewrites log `generation`: `edit` gets its records (parsed) and returns the ones to write.
function rewriteLog(dir: string, generation: number, edit: (records: Record<string, unknown>[]) => Record<string, unknown>[]): void {
  const path = join(dir, logName(generation));
  const records = readRecords(readFileSync(path)).records as Record<string, unknown>[];
  writeFileSync(path, Buffer.concat(edit(records).map((record) => encodeRecord(record))));
}

describe('persist: a hub restarted from its directory', () => {
  it('comes back with its data and its id, and numbers its writes on after the old ones', async () => {
    const dir = freshDir();
    const first = await start(dir);
    const id = first.id;
    for (let i = 0; i < 100; i++) await first.incr('hits');
    await first.set('flags.beta', true);
    await first.append('log', 'a');
    await first.close();
    hubs.length = 0;

    // A clean close leaves a snapshot and no log to replay.
    expect(recover(dir, limits).ops).toHaveLength(0);
    expect(logFiles(dir)).toHaveLength(1);
    const second = await start(dir);
    expect(second.id).toBe(id);
    expect(second.get()).toEqual({ hits: 100, flags: { beta: true }, log: ['a'] });
    await second.incr('hits');
    await second.close();
    hubs.length = 0;

    // Every write of this hub, across both starts, has a seq of its own: 103 in all.
    expect(seqInSnapshot(dir, id)).toBe(103);
  });

  it('refuses a directory another live hub holds, and takes it once that one closed', async () => {
    const dir = freshDir();
    const first = await start(dir);
    await expect(start(dir)).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_PERSIST_LOCKED', message: expect.stringContaining('another hub of this process') });
    await first.close();
    hubs.length = 0;
    const second = await start(dir);
    expect(second.id).toBe(first.id);
  });

  it('takes over the lock of a process that is gone (killed without closing)', async () => {
    const dir = freshDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = Number(gone.stdout.toString());
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const { hostname } = await import('node:os');
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid, host: hostname(), boot }));
    const hub = await start(dir);
    await hub.set('a', 1);
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
  });

  it('compacts into a snapshot once the logs pass compactBytes, drops the logs it covers, and restarts from it', async () => {
    const dir = freshDir();
    const hub = await start(dir, { compactBytes: 4096 });
    for (let i = 0; i < 500; i++) await hub.set(`users.u${i % 50}`, { name: `user ${i}`, i });
    await waitFor(() => hub.stats().persist!.compactions > 0, 5000, 'a compaction');
    expect(hub.stats().persist!.longestCompactionPauseMs).toBeGreaterThan(0);
    const state = hub.get();
    await hub.close();
    hubs.length = 0;
    expect(readdirSync(dir)).toContain('snapshot');
    expect(logFiles(dir).length).toBeLessThanOrEqual(2);
    const again = await start(dir);
    expect(again.get()).toEqual(state);
    expect(again.id).toBe(hub.id);
  });

  it('writes a compaction\'s snapshot in slices, over several turns, that reads back whole', async () => {
    const dir = freshDir();
    const hub = await start(dir, { compactBytes: 64 * 1024 });
    for (let i = 0; i < 3000; i++) hub.set(`big.k${i}`, `${'x'.repeat(200)}${i}`);
    const state = hub.get();
    await waitFor(() => hub.stats().persist!.compactions > 0, 5000, 'a compaction');
    const bytes = readFileSync(join(dir, 'snapshot'));
    // Larger than a slice (JSON_SLICE_CHARS) several times over.
    expect(bytes.length).toBeGreaterThan(2 * JSON_SLICE_CHARS);
    const read = readRecords(bytes);
    expect(read.problem).toBeUndefined();
    const record = read.records[0] as { snapshot: ReplicaSnapshot };
    expect(Replica.fromSnapshot(record.snapshot, limits).get()).toEqual(state);
  });

  it('refuses a corrupt snapshot with a clear error, loading nothing, and keeps the directory for whoever repairs it', async () => {
    const dir = freshDir();
    const hub = await start(dir, { compactBytes: 1024 });
    for (let i = 0; i < 100; i++) await hub.set(`k${i}`, i);
    await hub.flush({ durable: true });
    await hub.close();
    hubs.length = 0;
    const snapshot = readFileSync(join(dir, 'snapshot'));
    const flipped = Buffer.from(snapshot);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
    writeFileSync(join(dir, 'snapshot'), flipped);
    await expect(start(dir)).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_PERSIST_CORRUPT', message: expect.stringContaining('checksum') });
    // The refusal gave the directory back: put the good snapshot back and it starts.
    writeFileSync(join(dir, 'snapshot'), snapshot);
    const repaired = await start(dir);
    expect(repaired.get('k99')).toBe(99);
  });

  it('comes back from its logs after kill -9, as itself', async () => {
    const dir = freshDir();
    const id = await crashedWriter(dir, 10);
    expect(logFiles(dir)).toEqual([logName(1)]);
    const again = await start(dir);
    expect(again.id).toBe(id);
    expect(again.get()).toEqual(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i + 1}`, i + 1])));
    // The zeros the log was extended by are cut once it is read back; a clean close leaves none.
    const old = readFileSync(join(dir, logName(1)));
    expect(old.length).toBe(readRecords(old).goodBytes);
    await again.close();
    hubs.length = 0;
    for (const name of logFiles(dir)) {
      const bytes = readFileSync(join(dir, name));
      expect(bytes.length, name).toBe(readRecords(bytes).goodBytes);
    }
  });

  it('cuts a log cut short at its last good record, and keeps its id (a crash mid-write shared nothing)', async () => {
    // The last batch cut short: the file ending there, or the zeros it was extended by after it
    // (a process killed mid-write).
    for (const cut of ['file', 'zeros'] as const) {
      const dir = freshDir();
      const id = await crashedWriter(dir, 10);
      const path = join(dir, logName(1));
      const bytes = readFileSync(path);
      const end = readRecords(bytes).goodBytes;
      expect(bytes.length, 'a log extended ahead of its records').toBeGreaterThan(end);
      writeFileSync(path, cut === 'file' ? bytes.subarray(0, end - 5) : bytes.fill(0, end - 5, end));
      const again = await start(dir);
      expect(again.id, cut).toBe(id);
      expect(again.get('k9')).toBe(9);
      expect(again.get('k10')).toBeUndefined();
      expect(readFileSync(path).length).toBeLessThan(end - 5);
    }
  });

  it('cuts a log at a flipped byte, and takes a new id over the data before it (what followed may have been shared)', async () => {
    const dir = freshDir();
    const hub = { id: await crashedWriter(dir, 10) };
    const path = join(dir, logName(1));
    const bytes = readFileSync(path);
    const read = readRecords(bytes);
    // A byte in the 5th batch (record 5; record 0 is the header).
    bytes[read.ends[4]! + 12]! ^= 0x20;
    writeFileSync(path, bytes);
    const again = await start(dir);
    expect(again.id).not.toBe(hub.id);
    expect(again.get('k4')).toBe(4);
    expect(again.get('k5')).toBeUndefined();
    await again.set('after', true);
    await again.close();
    hubs.length = 0;
    // The new id holds: the state was written as its own snapshot, which remembers the old id
    // (retired in the group: GC never waits for it).
    const third = await start(dir);
    expect(third.id).toBe(again.id);
    expect(third.get()).toEqual({ k1: 1, k2: 2, k3: 3, k4: 4, after: true });
    const record = readRecords(readFileSync(join(dir, 'snapshot'))).records[0] as { id: string; predecessors: string[] };
    expect(record).toMatchObject({ id: again.id, predecessors: [hub.id] });
  });

  it('takes a new id when a log is missing between others (what it held may have been shared), reading the rest', async () => {
    const dir = freshDir();
    const id = await crashedWriter(dir, 3);
    expect(await crashedWriter(dir, 5)).toBe(id);
    expect(await crashedWriter(dir, 7)).toBe(id);
    expect(logFiles(dir)).toEqual([logName(1), logName(2), logName(3)]);
    rmSync(join(dir, logName(2)));
    const again = await start(dir);
    expect(again.id).not.toBe(id);
    expect(again.get('k7')).toBe(7);
  });

  it('comes back whole after kill -9 amid compactions (each new log fsynced after the one before it)', async () => {
    const dir = freshDir();
    // A compaction every few writes: durable writes resolve across the switches of logs.
    const id = await crashedWriter(dir, 200, 1024);
    const again = await start(dir);
    expect(again.id).toBe(id);
    expect(again.get()).toEqual(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i + 1}`, i + 1])));
  });

  it('skips a log a compaction began after writes a crash took from the log before it, and takes a new id', async () => {
    // What a compaction leaves when the machine dies before the older log's fsync: k1..k8
    // written to log 1, log 2 begun after its 8 batches (then k9, k10), and log 1 back from the
    // crash with 6 batches. The logs are made from a real writer's records.
    for (const survived of [8, 6]) {
      const dir = freshDir();
      const id = await crashedWriter(dir, 10);
      const [header, ...batches] = readRecords(readFileSync(join(dir, logName(1)))).records as Record<string, unknown>[];
      const encode = (records: Record<string, unknown>[]): Buffer => Buffer.concat(records.map((record) => encodeRecord(record)));
      const switchedAt = encode([header!, ...batches.slice(0, 8)]).length;
      writeFileSync(join(dir, logName(1)), encode([header!, ...batches.slice(0, survived)]));
      writeFileSync(join(dir, logName(2)), encode([{ ...header, generation: 2, after: switchedAt }, ...batches.slice(8)]));
      const again = await start(dir);
      if (survived === 8) {
        expect(again.id).toBe(id);
        expect(again.get('k10')).toBe(10);
      } else {
        expect(again.id).not.toBe(id);
        expect(again.get('k6')).toBe(6);
        expect(again.get('k7')).toBeUndefined();
        expect(again.get('k9')).toBeUndefined();
      }
    }
  });

  it('takes a new id when its last log was not closed in an earlier boot of the machine (its unsynced tail may be gone)', async () => {
    const dir = freshDir();
    const id = await crashedWriter(dir, 1);
    rewriteLog(dir, 1, (records) => records.map((record) => (record.boot === undefined ? record : { ...record, boot: 'an-earlier-boot' })));
    const again = await start(dir);
    expect(again.id).not.toBe(id);
    expect(again.get('k1')).toBe(1);
  });

  it('a durable write resolves once fsynced, in every fsync mode', async () => {
    for (const fsync of ['always', 'interval', 'never'] as const) {
      const hub = await start(freshDir(), { fsync, intervalMs: 60_000 });
      await hub.set('a', 1, { durable: true });
      await hub.incr('n', 1, { durable: true });
      expect(await hub.cas('a', 1, 2, { durable: true })).toBe(true);
      expect(hub.stats().persist!.fsyncs, fsync).toBeGreaterThan(0);
    }
  });
});

describe('persist: bad options and durability without a disk', () => {
  it('a durable write on a hub without persist rejects with ERR_COLLECTIVE_NOT_PERSISTENT (the write itself is applied)', async () => {
    const hub = await Collective.start();
    hubs.push(hub);
    await expect(hub.set('a', 1, { durable: true })).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_NOT_PERSISTENT' });
    expect(hub.get('a')).toBe(1);
    await expect(hub.flush({ durable: true })).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_NOT_PERSISTENT' });
    // Nobody awaits this one: it must not become an unhandled rejection (vitest fails on one).
    void hub.cas('a', 1, 2, { durable: true });
    await new Promise((resolve) => setImmediate(resolve));
    expect(hub.get('a')).toBe(2);
    expect(() => hub.set('a', 1, { durable: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_OPTION' }));
  });

  it('refuses bad persist options with a code, naming the option', async () => {
    const bad: [unknown, RegExp][] = [
      [{}, /persist\.dir/],
      [{ dir: '' }, /persist\.dir/],
      [{ dir: '/tmp/x', fsync: 'sometimes' }, /persist\.fsync/],
      [{ dir: '/tmp/x', intervalMs: 0 }, /persist\.intervalMs/],
      [{ dir: '/tmp/x', compactBytes: 1.5 }, /persist\.compactBytes/],
      ['/tmp/x', /`persist` to be/],
    ];
    for (const [persist, message] of bad) {
      expect(() => new Collective(undefined, undefined, { persist: persist as never })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_OPTION', message: expect.stringMatching(message) }));
    }
  });

  it('a hub that could not start gives its directory back (a second try with the same directory works)', async () => {
    const dir = freshDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(Collective.start({ listen: { host: '127.0.0.1', port }, persist: { dir } })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    const hub = await start(dir);
    await hub.set('a', 1);
  });

  it('refuses an id option that differs from the directory\'s, and gives the directory back', async () => {
    const dir = freshDir();
    const first = await start(dir);
    await first.set('a', 1);
    await first.close();
    hubs.length = 0;
    await expect(Collective.start({ id: 'someoneelse', persist: { dir } })).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_INVALID_OPTION', message: expect.stringContaining(first.id) });
    await waitFor(() => !existsSync(join(dir, 'LOCK')), 2000, 'the lock to be given back');
    const again = await start(dir, {});
    expect(again.id).toBe(first.id);
  });

  it('says why a directory cannot be used', async () => {
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, 'not a directory');
    await expect(Collective.start({ persist: { dir: file } })).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_PERSIST_IO' });
  });
});
