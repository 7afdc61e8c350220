import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Collective } from '../../lib/index.js';
import { memoryMembers } from '../helpers/members.js';

// `{ durable: true }` from a member: a turn's durable writes share one request to the hub, sent
// after them, and all resolve once the hub's log is fsynced.
const members = memoryMembers();

describe('durable writes from a member', () => {
  it("a turn's durable writes go up in one message with one durable request, and resolve on one fsync", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collective-member-durable-'));
    members.onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const hub = new Collective(undefined, undefined, { persist: { dir, fsync: 'never' } });
    members.onCleanup(() => hub.close());
    const member = members.member(hub);
    await member.ready();
    const before = hub.stats().persist!;
    await Promise.all(Array.from({ length: 50 }, (_, i) => member.set(`k${i}`, i, { durable: true })));
    const after = hub.stats().persist!;
    expect(hub.get('k49')).toBe(49);
    expect(after.records - before.records).toBe(1);
    expect(after.fsyncs - before.fsyncs).toBe(1);
    // Nothing more to wait for: a durable flush right after resolves on what is on disk.
    await member.flush({ durable: true });
    expect(hub.stats().persist!.fsyncs).toBe(after.fsyncs);
  });

  it('is refused with ERR_COLLECTIVE_NOT_PERSISTENT by a hub without persist, the writes applied', async () => {
    const hub = members.hub();
    const member = members.member(hub);
    await member.ready();
    const writes = [member.set('a', 1, { durable: true }), member.incr('n', 1, { durable: true })];
    for (const write of writes) await expect(write).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_NOT_PERSISTENT' });
    expect(hub.get()).toEqual({ a: 1, n: 1 });
  });
});
