import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Collective, PeerError } from '../../lib/index.js';
import { encodeFrame, PEER_PROTOCOL_VERSION } from '../../lib/wire/frame.js';
import { newNonce } from '../../lib/wire/auth.js';
import { localHubs } from '../helpers/local-hubs.js';
import { waitFor } from '../helpers/wait.js';

// Misconfiguration is loud: every refused or failed link to a peer is a `peer:error` with a
// code and the peer's address, and, when nobody listens, a process warning the first time per
// address and code. Real hubs over real loopback TCP, and raw sockets playing broken peers.
const { start, address } = localHubs({ heartbeatMs: 200, antiEntropyMs: 300, reconnectMaxMs: 50 });

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

// Every process warning given during the test.
let warnings: (Error & { code?: string })[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

function errorsOf(hub: Collective): PeerError[] {
  const errors: PeerError[] = [];
  hub.on('peer:error', (error) => errors.push(error));
  return errors;
}

const collectiveWarnings = (code: string) => warnings.filter((warning) => warning.name === 'CollectiveWarning' && warning.code === code);

/** A raw client that writes `bytes` to the hub and reads whatever it says. */
function rawClient(hub: Collective, bytes: Buffer): Socket {
  const socket = connect(hub.port!, '127.0.0.1', () => socket.write(bytes));
  socket.on('error', () => undefined);
  socket.resume();
  sockets.push(socket);
  return socket;
}

/** A server on an ephemeral port that answers every connection with `bytes`. */
async function rawServer(bytes: Buffer): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.resume();
    socket.write(bytes);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function hello(id: string, wall = Date.now()): Buffer {
  return encodeFrame('hello', { id, w: wall, c: 0, n: newNonce(), a: 0 });
}

describe('peer:error, for every refused or failed link', () => {
  it('a wrong secret: ERR_COLLECTIVE_AUTH on both sides, naming the other’s address and id, counted by code', async () => {
    const a = await start({ secret: 'one' });
    const b = await start({ secret: 'two', peers: [address(a)] });
    const [atA, atB] = [errorsOf(a), errorsOf(b)];
    await waitFor(() => atA.length > 0 && atB.length > 0, 5000, 'both sides to report');
    expect(atB[0]).toMatchObject({ name: 'PeerError', code: 'ERR_COLLECTIVE_AUTH', address: `127.0.0.1:${a.port}`, peer: a.id });
    expect(atB[0]!.message).toMatch(new RegExp(`peer 127.0.0.1:${a.port} \\(${a.id}\\): the peer ${a.id} failed authentication`));
    // A peer that dialed in is named by its listening port, which its hello told.
    expect(atA[0]).toMatchObject({ code: 'ERR_COLLECTIVE_AUTH', address: `127.0.0.1:${b.port}`, peer: b.id });
    expect(a.stats().rejections.ERR_COLLECTIVE_AUTH).toBeGreaterThanOrEqual(1);
    expect(a.stats().authFailures).toBe(a.stats().rejections.ERR_COLLECTIVE_AUTH);
    expect(a.active).toBe(0);
    // Someone listens: no process warning.
    expect(collectiveWarnings('ERR_COLLECTIVE_AUTH')).toEqual([]);
  });

  it('a secret on one side only: ERR_COLLECTIVE_AUTH_MISMATCH, saying which side lacks it', async () => {
    const a = await start({ secret: 'shared' });
    const b = await start({ peers: [address(a)] });
    const [atA, atB] = [errorsOf(a), errorsOf(b)];
    await waitFor(() => atA.length > 0 && atB.length > 0, 5000, 'both sides to report');
    expect(atA[0]).toMatchObject({ code: 'ERR_COLLECTIVE_AUTH_MISMATCH', message: expect.stringMatching(/this hub has a `secret` and the peer \w+ has none/) });
    expect(atB[0]).toMatchObject({ code: 'ERR_COLLECTIVE_AUTH_MISMATCH', message: expect.stringMatching(/has a `secret` and this hub has none/) });
  });

  it('a peer whose clock is too far off: ERR_COLLECTIVE_CLOCK_SKEW, dialing in and dialed', async () => {
    const hub = await start();
    const errors = errorsOf(hub);
    const client = rawClient(hub, hello('skewed-in', Date.now() - 120_000));
    await new Promise((resolve) => client.once('connect', resolve));
    const from = client.localPort;
    await waitFor(() => errors.length === 1, 3000, 'the refusal');
    // A peer that did not say its listening port is named by where it dialed from.
    expect(errors[0]).toMatchObject({ code: 'ERR_COLLECTIVE_CLOCK_SKEW', address: `127.0.0.1:${from}`, peer: 'skewed-in' });
    expect(errors[0]!.message).toMatch(/skewed-in's clock differs from this hub's by 1\d{5} ms/);
    const port = await rawServer(hello('skewed-out', Date.now() + 90_000));
    const dialer = await start({ peers: [{ host: '127.0.0.1', port }] });
    const dialed = errorsOf(dialer);
    await waitFor(() => dialed.length > 0, 3000, 'the refusal');
    expect(dialed[0]).toMatchObject({ code: 'ERR_COLLECTIVE_CLOCK_SKEW', address: `127.0.0.1:${port}`, peer: 'skewed-out' });
  });

  it('another protocol version: ERR_COLLECTIVE_PROTOCOL_VERSION, dialing in and dialed', async () => {
    const future = hello('from-the-future');
    future.writeUInt8(PEER_PROTOCOL_VERSION + 1, 4);
    const hub = await start();
    const errors = errorsOf(hub);
    rawClient(hub, future);
    await waitFor(() => errors.length === 1, 3000, 'the refusal');
    expect(errors[0]).toMatchObject({ code: 'ERR_COLLECTIVE_PROTOCOL_VERSION', message: expect.stringMatching(/speaks protocol version 3, this hub version 2/) });
    const port = await rawServer(future);
    const dialer = await start({ peers: [{ host: '127.0.0.1', port }] });
    const dialed = errorsOf(dialer);
    await waitFor(() => dialed.length > 0, 3000, 'the refusal');
    expect(dialed[0]).toMatchObject({ code: 'ERR_COLLECTIVE_PROTOCOL_VERSION', address: `127.0.0.1:${port}` });
  });

  it('HTTP on the peer port, or a peer address that is an HTTP server: ERR_COLLECTIVE_NOT_A_PEER, saying it looks like HTTP', async () => {
    const hub = await start();
    const errors = errorsOf(hub);
    rawClient(hub, Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    await waitFor(() => errors.length === 1, 3000, 'the refusal');
    expect(errors[0]).toMatchObject({ code: 'ERR_COLLECTIVE_NOT_A_PEER' });
    expect(errors[0]!.message).toMatch(/not a collective peer: the first bytes look like HTTP \("GET \/metrics HTTP\/1.1"\)/);
    const web = createHttpServer((_request, response) => response.end('hello'));
    servers.push(web as unknown as Server);
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const dialer = await start({ peers: [{ host: '127.0.0.1', port: (web.address() as { port: number }).port }] });
    const dialed = errorsOf(dialer);
    await waitFor(() => dialed.length > 0, 3000, 'the refusal');
    expect(dialed[0]).toMatchObject({ code: 'ERR_COLLECTIVE_NOT_A_PEER', message: expect.stringMatching(/look like HTTP \("HTTP\/1.1 400/) });
  });

  it('a peer nobody answers for: ERR_COLLECTIVE_PEER_UNREACHABLE at every failed dial', async () => {
    const gone = await start();
    const where = address(gone);
    await gone.close();
    const hub = await start({ peers: [where] });
    const errors = errorsOf(hub);
    await waitFor(() => errors.length >= 3, 5000, 'three failed dials');
    for (const error of errors) expect(error).toMatchObject({ code: 'ERR_COLLECTIVE_PEER_UNREACHABLE', address: `127.0.0.1:${where.port}` });
    expect((errors[0]!.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(hub.stats().rejections.ERR_COLLECTIVE_PEER_UNREACHABLE).toBeGreaterThanOrEqual(3);
  });
});

describe('with nobody listening to peer:error: a process warning, the first time per address and code', () => {
  it('a wrong secret warns once, however often the link is refused', async () => {
    const a = await start({ secret: 'one' });
    const b = await start({ secret: 'two', peers: [address(a)] });
    // b redials every 50 ms or so: wait for several refusals.
    await waitFor(() => b.stats().authFailures >= 4, 5000, 'several refusals');
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    const atB = collectiveWarnings('ERR_COLLECTIVE_AUTH').filter((warning) => warning.message.includes(`127.0.0.1:${a.port}`));
    expect(atB).toHaveLength(1);
    expect(atB[0]!.message).toMatch(/failed authentication: its `secret` differs from this hub's/);
  });

  it('an unreachable peer warns once, only after it failed 10 dials in a row', async () => {
    const gone = await start();
    const where = address(gone);
    await gone.close();
    const hub = await start({ peers: [where] });
    await waitFor(() => (hub.stats().rejections.ERR_COLLECTIVE_PEER_UNREACHABLE ?? 0) >= 9, 10_000, 'nine failed dials');
    expect(collectiveWarnings('ERR_COLLECTIVE_PEER_UNREACHABLE')).toEqual([]);
    await waitFor(() => (hub.stats().rejections.ERR_COLLECTIVE_PEER_UNREACHABLE ?? 0) >= 14, 10_000, 'more failed dials');
    await new Promise((resolve) => setImmediate(resolve));
    const given = collectiveWarnings('ERR_COLLECTIVE_PEER_UNREACHABLE');
    expect(given).toHaveLength(1);
    expect(given[0]!.message).toMatch(new RegExp(`peer 127.0.0.1:${where.port} is unreachable`));
  });

  it.each([
    ['a secret on one side only', 'ERR_COLLECTIVE_AUTH_MISMATCH'],
    ['a clock too far off', 'ERR_COLLECTIVE_CLOCK_SKEW'],
    ['another protocol version', 'ERR_COLLECTIVE_PROTOCOL_VERSION'],
  ])('%s warns once, with its code', async (_case, code) => {
    let hub: Collective;
    let peer: number;
    if (code === 'ERR_COLLECTIVE_AUTH_MISMATCH') {
      const a = await start({ secret: 'shared' });
      peer = a.port!;
      hub = await start({ peers: [address(a)] });
      await waitFor(() => hub.stats().authFailures >= 3, 5000, 'several refusals');
    } else {
      const bytes = hello('odd-peer', code === 'ERR_COLLECTIVE_CLOCK_SKEW' ? Date.now() - 3_600_000 : Date.now());
      if (code === 'ERR_COLLECTIVE_PROTOCOL_VERSION') bytes.writeUInt8(PEER_PROTOCOL_VERSION + 1, 4);
      peer = await rawServer(bytes);
      hub = await start({ peers: [{ host: '127.0.0.1', port: peer }] });
      await waitFor(() => (hub.stats().rejections[code as 'ERR_COLLECTIVE_CLOCK_SKEW'] ?? 0) >= 3, 5000, 'several refusals');
    }
    await new Promise((resolve) => setImmediate(resolve));
    // (With a secret on one side only, the other hub, in this process too, warns about its side.)
    expect(collectiveWarnings(code).filter((warning) => new RegExp(`^peer 127\.0\.0\.1:${peer}[ :]`).test(warning.message))).toHaveLength(1);
  });

  it('a stranger speaking HTTP warns once; its next connections do not', async () => {
    const hub = await start();
    for (let i = 0; i < 3; i++) {
      const socket = rawClient(hub, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      await new Promise((resolve) => socket.once('close', resolve));
    }
    await waitFor(() => hub.stats().rejections.ERR_COLLECTIVE_NOT_A_PEER === 3, 3000, 'three refusals');
    await new Promise((resolve) => setImmediate(resolve));
    // Each connection comes from another ephemeral port: a stranger is warned about by host.
    const given = collectiveWarnings('ERR_COLLECTIVE_NOT_A_PEER');
    expect(given).toHaveLength(1);
    expect(given[0]!.message).toMatch(/look like HTTP/);
  });
});
