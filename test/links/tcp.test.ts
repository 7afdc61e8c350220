import { afterEach, describe, expect, it } from 'vitest';
import { TcpLink } from '../../lib/links/tcp.js';
import { PEER_PROTOCOL_VERSION, encodeFrame } from '../../lib/wire/frame.js';

const V = PEER_PROTOCOL_VERSION.toString(16).padStart(2, '0');
import { destroySockets, socketPair } from '../helpers/sockets.js';
import { partsOverTurns } from '../helpers/parts.js';
import { waitFor } from '../helpers/wait.js';

const links: TcpLink[] = [];
afterEach(() => {
  for (const link of links.splice(0)) link.close();
  destroySockets();
});

function link(...args: ConstructorParameters<typeof TcpLink>): TcpLink {
  const created = new TcpLink(...args);
  links.push(created);
  return created;
}

describe('TcpLink', () => {
  it('carries frames both ways', async () => {
    const [a, b] = await socketPair();
    const [left, right] = [link(a, 'left'), link(b, 'right')];
    const got: unknown[] = [];
    right.on('message', (message) => got.push(message));
    left.send({ t: 'ops', p: [{ k: 'set' }] });
    left.send({ t: 'synced' });
    await waitFor(() => got.length === 2, 2000, 'two frames');
    // A message a frame cannot carry is refused whole, and the link goes on.
    expect(left.send({ t: 'NOT A TYPE' })).toBe(false);
    expect(left.send({ t: 'ops', p: 1n as unknown })).toBe(false);
    expect(left.closed).toBe(false);
    expect(got).toEqual([{ t: 'ops', p: [{ k: 'set' }] }, { t: 'synced', p: null }]);
  });

  it('sends a payload in parts, as more frames over several turns, and what is sent meanwhile after it, in order', async () => {
    const [a, b] = await socketPair();
    const [left, right] = [link(a, 'left', { maxFrameBytes: 64 * 1024 }), link(b, 'right', { maxFrameBytes: 64 * 1024 })];
    const got: unknown[] = [];
    right.on('message', (message) => got.push(message));
    const big = { list: Array.from({ length: 1_000_000 }, (_, i) => `item ${i} é`) };
    const { parts, turns } = partsOverTurns(big, 200_000);
    left.send({ t: 'ping', p: 1 });
    expect(left.sendPayloadInParts('snapshot', parts)).toBe(true);
    left.send({ t: 'ops', p: 2 });
    left.sendPayloadInParts('snapshot', ['{"n":', '3}'][Symbol.iterator]());
    left.send({ t: 'ops', p: 4 });
    expect(left.sendPayloadInParts('NOT A TYPE', ['1'][Symbol.iterator]())).toBe(false);
    await waitFor(() => got.length === 5, 20_000, 'five messages');
    expect(got).toEqual([{ t: 'ping', p: 1 }, { t: 'snapshot', p: big }, { t: 'ops', p: 2 }, { t: 'snapshot', p: { n: 3 } }, { t: 'ops', p: 4 }]);
    expect(turns()).toBeGreaterThan(1);
    expect(left.queuedBytes).toBe(0);
  });

  it.each([
    ['text that is not a frame', Buffer.from('hello there, anyone home?\n'), 'ERR_COLLECTIVE_NOT_A_PEER'],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'ERR_COLLECTIVE_NOT_A_PEER'],
    ['binary garbage first (a 4 GiB length)', Buffer.from('ffffffff00', 'hex'), 'ERR_COLLECTIVE_NOT_A_PEER'],
    ['a length prefix of 4 GiB after a good frame', Buffer.concat([encodeFrame('ping', null), Buffer.from('ffffffff00', 'hex')]), 'ERR_COLLECTIVE_FRAME_TOO_LARGE'],
    ['malformed JSON', Buffer.concat([Buffer.from('00000009' + V + '02', 'hex'), Buffer.from('op{"a":')]), 'ERR_COLLECTIVE_FRAME_JSON'],
    ['another protocol version', Buffer.concat([Buffer.from('00000009' + 'fe' + '02', 'hex'), Buffer.from('op{"a":')]), 'ERR_COLLECTIVE_PROTOCOL_VERSION'],
  ])('closes with a ProtocolError on %s, delivering nothing', async (_name, bytes, code) => {
    const [a, b] = await socketPair();
    const victim = link(a, 'victim');
    const got: unknown[] = [];
    victim.on('message', (message) => got.push(message));
    const closed = new Promise<Error | undefined>((resolve) => victim.once('close', resolve));
    b.write(bytes);
    expect(await closed).toMatchObject({ name: 'FrameError', code });
    expect(got).toEqual([]);
  });

  it('carries a message over the frame limit in several frames, and what follows it', async () => {
    const [a, b] = await socketPair();
    const [left, right] = [link(a, 'left', { maxFrameBytes: 64 * 1024 }), link(b, 'right', { maxFrameBytes: 64 * 1024 })];
    const got: unknown[] = [];
    right.on('message', (message) => got.push(message));
    let bytesToRight = 0;
    b.on('data', (chunk: Buffer) => (bytesToRight += chunk.length));
    const big = { t: 'snapshot', p: { tree: 'x'.repeat(1024 * 1024) } };
    left.send(big);
    left.send({ t: 'synced' });
    await waitFor(() => got.length === 2, 5000, 'both messages');
    expect(got).toEqual([big, { t: 'synced', p: null }]);
    expect(bytesToRight).toBeGreaterThan(1024 * 1024);
  });

  it('passes frames that arrive a byte at a time', async () => {
    const [a, b] = await socketPair();
    const receiver = link(a, 'receiver');
    const got: unknown[] = [];
    receiver.on('message', (message) => got.push(message));
    for (const byte of encodeFrame('vector', [['n1', 3, 10, 0]])) b.write(Buffer.from([byte]));
    await waitFor(() => got.length === 1, 2000, 'the frame');
    expect(got[0]).toEqual({ t: 'vector', p: [['n1', 3, 10, 0]] });
  });
});
