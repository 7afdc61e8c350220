import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { MessageChannel } from 'node:worker_threads';
import { IpcLink } from '../../lib/links/ipc.js';
import type { Link } from '../../lib/links/link.js';
import { MemoryLink } from '../../lib/links/memory.js';
import { PipeLink } from '../../lib/links/pipe.js';
import { PortLink } from '../../lib/links/port.js';
import { TcpLink } from '../../lib/links/tcp.js';
import { fixtures } from '../helpers/processes.js';
import { destroySockets, socketPair } from '../helpers/sockets.js';
import { linkConformance, type Remote } from './conformance.js';

// Every link passes the one suite (test/links/conformance.ts).

// A stuck reader must be dropped within a test's time: small limits.
const BACKLOG = { maxBacklogBytes: 1024 * 1024, lagGraceMs: 200 };

/** The other end as a Link in this process. */
function remoteOf(link: Link, pause?: () => void): Remote {
  const received: unknown[] = [];
  link.on('message', (message) => received.push(message));
  return { received: () => received, send: (message) => link.send(message), close: () => link.close(), closed: () => link.closed, ...(pause ? { pause } : {}) };
}

const opened: Link[] = [];
function track<T extends Link>(link: T): T {
  opened.push(link);
  return link;
}
async function cleanup(): Promise<void> {
  for (const link of opened.splice(0)) link.close();
  destroySockets();
}

linkConformance({
  name: 'memory',
  backpressure: false,
  async open() {
    const [local, remote] = MemoryLink.pair('conformance');
    return { local: track(local), remote: remoteOf(track(remote)) };
  },
  cleanup,
});

linkConformance({
  name: 'pipe (newline-delimited JSON on a socket)',
  backpressure: true,
  async open() {
    const [mine, theirs] = await socketPair();
    const remote = track(new PipeLink(theirs, 'theirs', BACKLOG));
    return { local: track(new PipeLink(mine, 'mine', BACKLOG)), remote: remoteOf(remote, () => theirs.pause()) };
  },
  cleanup,
});

linkConformance({
  name: 'worker port',
  backpressure: false,
  async open() {
    const { port1, port2 } = new MessageChannel();
    return { local: track(new PortLink(port1, 'mine')), remote: remoteOf(track(new PortLink(port2, 'theirs'))) };
  },
  cleanup,
});

// TCP carries frames: 1 MiB frames here, so the large message travels split.
const TCP = { maxFrameBytes: 1024 * 1024, ...BACKLOG };

linkConformance({
  name: 'TCP',
  backpressure: true,
  async open() {
    const [mine, theirs] = await socketPair();
    const remote = track(new TcpLink(theirs, 'theirs', TCP));
    return { local: track(new TcpLink(mine, 'mine', TCP)), remote: remoteOf(remote, () => theirs.pause()) };
  },
  cleanup,
});

const servers: tls.Server[] = [];
const tlsSockets: Socket[] = [];
linkConformance({
  name: 'TCP with mutual TLS',
  backpressure: true,
  async open() {
    const cert = readFileSync(`${fixtures}tls/hub-cert.pem`);
    const options = { key: readFileSync(`${fixtures}tls/hub-key.pem`), cert, ca: cert };
    const server = tls.createServer({ ...options, requestCert: true, rejectUnauthorized: true });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<tls.TLSSocket>((resolve) => server.once('secureConnection', resolve));
    const client = tls.connect({ ...options, host: '127.0.0.1', port: (server.address() as { port: number }).port, servername: 'localhost' });
    await new Promise((resolve) => client.once('secureConnect', resolve));
    const theirs = await accepted;
    tlsSockets.push(client, theirs);
    const remote = track(new TcpLink(theirs, 'theirs', TCP));
    return { local: track(new TcpLink(client, 'mine', TCP)), remote: remoteOf(remote, () => theirs.pause()) };
  },
  async cleanup() {
    await cleanup();
    for (const socket of tlsSockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  },
});

// Cluster IPC: the other end is collective's IpcLink in a forked child (test/fixtures/ipc-echo.mjs),
// which reports what it gets on the application's own messages beside collective's.
const children: ChildProcess[] = [];
linkConformance({
  name: 'cluster IPC (a forked child)',
  backpressure: false,
  async open() {
    const child = fork(`${fixtures}ipc-echo.mjs`, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    const received: unknown[] = [];
    let closed = false;
    child.on('message', (message: { received?: unknown; closed?: boolean }) => {
      if (message?.received !== undefined) received.push(message.received);
      if (message?.closed === true) closed = true;
    });
    child.on('exit', () => (closed = true));
    await new Promise<void>((resolve) => child.on('message', (message: { ready?: boolean }) => message?.ready && resolve()));
    const remote: Remote = {
      received: () => received,
      send: (message) => child.send({ cmd: 'send', message }),
      close: () => child.send({ cmd: 'disconnect' }),
      closed: () => closed,
    };
    return { local: track(new IpcLink(child, 'child')), remote };
  },
  async cleanup() {
    await cleanup();
    await Promise.all(
      children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
  },
});

