import { afterEach, describe, expect, it } from 'vitest';
import { PipeLink } from '../../lib/links/pipe.js';
import { destroySockets, socketPair } from '../helpers/sockets.js';
import { expectPartsInOrder } from '../helpers/parts.js';
import { waitFor } from '../helpers/wait.js';

// A PipeLink over one end of a real loopback socket pair; the test drives the other end.
afterEach(destroySockets);

describe('PipeLink', () => {
  it('splits newline-delimited JSON however the bytes arrive', async () => {
    const [mine, theirs] = await socketPair();
    const link = new PipeLink(mine, 'test');
    const got: unknown[] = [];
    link.on('message', (message) => got.push(message));
    theirs.write('{"a":1}\n{"b"');
    await waitFor(() => got.length === 1, 2000, 'the first message');
    theirs.write(':2}\n{"c":"x\\ny"}\n{"d":[1,');
    theirs.write('2]}\n');
    await waitFor(() => got.length === 4, 2000, 'four messages');
    expect(got).toEqual([{ a: 1 }, { b: 2 }, { c: 'x\ny' }, { d: [1, 2] }]);
  });

  it('sends a message in parts over several turns, and what is sent meanwhile after it, in order', async () => {
    const [mine, theirs] = await socketPair();
    const sender = new PipeLink(mine, 'sender');
    const receiver = new PipeLink(theirs, 'receiver');
    await expectPartsInOrder(sender, receiver, { timeoutMs: 10_000 });
    expect(sender.queuedBytes).toBe(0);
    sender.close();
    receiver.close();
  });

  it('closes, with a reason, on a line that is not JSON', async () => {
    const [mine, theirs] = await socketPair();
    const link = new PipeLink(mine, 'test');
    const got: unknown[] = [];
    link.on('message', (message) => got.push(message));
    const closed = new Promise<Error | undefined>((resolve) => link.once('close', resolve));
    theirs.write('{"ok":1}\nnot json\n{"never":1}\n');
    expect(await closed).toMatchObject({ code: 'ERR_COLLECTIVE_FRAME_JSON' });
    expect(got).toEqual([{ ok: 1 }]);
  });

  it('closes when a message grows past the limit without ending', async () => {
    const [mine, theirs] = await socketPair();
    const link = new PipeLink(mine, 'test', { maxMessageBytes: 4 * 1024 * 1024 });
    const closed = new Promise<Error | undefined>((resolve) => link.once('close', resolve));
    const chunk = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 6 && !theirs.destroyed; i++) theirs.write(chunk);
    expect(await closed).toMatchObject({ code: 'ERR_COLLECTIVE_FRAME_TOO_LARGE' });
  });

  it('drops the link when the other side stops reading, instead of buffering without bound', async () => {
    const [mine, theirs] = await socketPair();
    theirs.pause(); // a reader stuck in synchronous work
    const link = new PipeLink(mine, 'test', { maxBacklogBytes: 1024 * 1024, lagGraceMs: 200 });
    const closed = new Promise<Error | undefined>((resolve) => link.once('close', resolve));
    const payload = { big: 'y'.repeat(64 * 1024) };
    const started = Date.now();
    let sent = 0;
    while (link.send(payload)) {
      sent++;
      if (sent > 2000) throw new Error('the link never gave up');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect((await closed)?.message).toMatch(/too far behind/);
    expect(link.lagging).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('tolerates a message bigger than the limit when the reader keeps up', async () => {
    const [mine, theirs] = await socketPair();
    const link = new PipeLink(mine, 'test', { maxBacklogBytes: 64 * 1024, lagGraceMs: 200 });
    let received = 0;
    let buffered = '';
    theirs.setEncoding('utf8');
    theirs.on('data', (chunk: string) => {
      buffered += chunk;
      received += chunk.split('\n').length - 1;
    });
    expect(link.send({ snapshot: 'x'.repeat(1024 * 1024) })).toBe(true);
    await waitFor(() => received === 1, 5000, 'the big message');
    for (let i = 0; i < 20; i++) {
      expect(link.send({ small: i })).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor(() => received === 21, 5000, 'the small messages');
    expect(link.closed).toBe(false);
    expect(buffered.length).toBeGreaterThan(1024 * 1024);
  });
});
