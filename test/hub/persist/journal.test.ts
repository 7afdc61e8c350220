import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NodeId } from '../../../lib/core/clock.js';
import type { Op } from '../../../lib/core/op.js';
import { logName } from '../../../lib/hub/persist/directory.js';
import { Journal } from '../../../lib/hub/persist/journal.js';
import { readRecords } from '../../../lib/hub/persist/records.js';
import { waitFor } from '../../helpers/wait.js';

// The journal's fsyncs, held until the test lets each finish: what a durable write waits for,
// and in which order, when a compaction switches logs while an fsync runs.
const held = vi.hoisted(() => ({ on: false, calls: [] as { fd: number; finish: () => void }[] }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fdatasync = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void => {
    if (!held.on) return fs.fdatasync(fd, callback);
    held.calls.push({
      fd,
      finish: () => {
        fs.fdatasyncSync(fd);
        callback(null);
      },
    });
  };
  return { ...fs, default: { ...fs, fdatasync }, fdatasync };
});

const dirs: string[] = [];
afterEach(() => {
  held.on = false;
  held.calls.length = 0;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const header = { v: 1 as const, id: 'journal01', boot: 'this-boot' };
let seq = 0;
function op(value: number): Op {
  seq++;
  return { kind: 'set', path: ['k', String(value)], value, seq, stamp: { wall: 1_000_000 + seq, count: 0, node: 'journal01' as NodeId } };
}

// Resolves on the next turns: what settles after an fsync finished has settled then.
const turns = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

// A journal in 'always' mode in a fresh directory, fsyncs held from now on, with a first batch
// written to log 1 and its fsync running.
function journalWithFsyncRunning(): { dir: string; journal: Journal } {
  const dir = mkdtempSync(join(tmpdir(), 'collective-journal-'));
  dirs.push(dir);
  const journal = new Journal(dir, 1, header, { fsync: 'always', intervalMs: 1000 }, () => undefined, () => undefined);
  held.on = true;
  journal.record(op(1));
  journal.write();
  expect(held.calls).toHaveLength(1);
  return { dir, journal };
}

describe('the journal of a persisted hub', () => {
  it('resolves a durable write made after a switch of logs only once the older log, then the new one, are fsynced', async () => {
    const { dir, journal } = journalWithFsyncRunning();
    const firstFd = held.calls[0]!.fd;
    // A compaction switches to log 2; a durable write lands there.
    journal.switchTo(2, header);
    journal.record(op(2));
    let durable = false;
    const waiting = journal.durable().then(() => (durable = true));
    journal.write();
    // The fsync of log 1 that was running ends: it covered only what log 1 held when it began.
    held.calls.shift()!.finish();
    await turns();
    expect(durable).toBe(false);
    // Next, log 1 again, up to its end (the switched-away log first), and still not durable.
    expect(held.calls).toHaveLength(1);
    expect(held.calls[0]!.fd).toBe(firstFd);
    held.calls.shift()!.finish();
    await turns();
    expect(durable).toBe(false);
    // Then (after the directory's fsync, not held) log 2: only that makes the write durable.
    await waitFor(() => held.calls.length > 0, 10_000, "log 2's fsync");
    expect(held.calls).toHaveLength(1);
    expect(held.calls[0]!.fd).not.toBe(firstFd);
    expect(durable).toBe(false);
    held.calls.shift()!.finish();
    await waiting;
    expect(durable).toBe(true);
    held.on = false;
    journal.close();
    // Log 2 says how long log 1 was when it began, and log 1 is that long.
    const second = readRecords(readFileSync(join(dir, logName(2))));
    const first = readRecords(readFileSync(join(dir, logName(1))));
    expect((second.records[0] as { after?: number }).after).toBe(first.goodBytes);
  });

  it("fsyncs in 'always' mode the batch written while an fsync ran, without waiting for another batch", async () => {
    const { journal } = journalWithFsyncRunning();
    // The last batch before the writes stop, written while the first one's fsync runs.
    journal.record(op(2));
    journal.write();
    expect(held.calls).toHaveLength(1);
    held.calls.shift()!.finish();
    await turns();
    // Its own fsync started, though no durable write waits and no other batch came.
    expect(held.calls).toHaveLength(1);
    held.calls.shift()!.finish();
    await turns();
    expect(held.calls).toHaveLength(0);
    expect(journal.syncs).toBe(2);
    held.on = false;
    journal.close();
  });
});
