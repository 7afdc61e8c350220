import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { PortLink } from '../../lib/links/port.js';
import { expectPartsInOrder } from '../helpers/parts.js';

// A PortLink over one end of a real MessageChannel; the test drives the other end or a second link.
const links: PortLink[] = [];
afterEach(() => {
  for (const link of links.splice(0)) link.close();
});

function pair(): [PortLink, PortLink] {
  const { port1, port2 } = new MessageChannel();
  const a = new PortLink(port1, 'a');
  const b = new PortLink(port2, 'b');
  links.push(a, b);
  return [a, b];
}

describe('PortLink', () => {
  it('sends a message in parts over several turns, and what is sent meanwhile after it, in order', async () => {
    const [sender, receiver] = pair();
    await expectPartsInOrder(sender, receiver, { costMs: 1, timeoutMs: 20_000 });
  });

  it('closes, with a reason, on a whole message arriving inside one sent in parts', async () => {
    const { port1, port2 } = new MessageChannel();
    const link = new PortLink(port2, 'test');
    links.push(link);
    const got: unknown[] = [];
    link.on('message', (message) => got.push(message));
    const closed = new Promise<Error | undefined>((resolve) => link.once('close', resolve));
    port1.postMessage('{"ok":1}');
    port1.postMessage('\u0001{"half":');
    port1.postMessage('{"intruder":1}');
    expect(await closed).toMatchObject({ code: 'ERR_COLLECTIVE_FRAME_JSON' });
    expect(got).toEqual([{ ok: 1 }]);
    port1.close();
  });

  it('closes on parts that do not join into JSON', async () => {
    const { port1, port2 } = new MessageChannel();
    const link = new PortLink(port2, 'test');
    links.push(link);
    const closed = new Promise<Error | undefined>((resolve) => link.once('close', resolve));
    port1.postMessage('\u0001{"a":');
    port1.postMessage('\u0002');
    expect(await closed).toMatchObject({ code: 'ERR_COLLECTIVE_FRAME_JSON' });
    port1.close();
  });
});
