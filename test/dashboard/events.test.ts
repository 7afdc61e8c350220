import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../lib/dashboard/events.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

// A stats sample of a realistic size (a hub with a few members and peers: ~4 KB of JSON).
const sample = () => ({ opsPerSecond: 1, padding: 'x'.repeat(4000) });

async function serve(stream: EventStream): Promise<number> {
  const server: Server = createServer((request, response) => stream.accept(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    stream.close();
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

function client(port: number): Socket {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return socket;
}

const noLog = (): void => undefined;

describe('the dashboard event stream', () => {
  it('queues no more than its backlog for a client that does not read, drops it once it stays behind, and keeps the others served', { timeout: 30_000 }, async () => {
    const backlogBytes = 64 * 1024;
    const stream = new EventStream(sample, () => 1, { intervalMs: 5, maxClients: 10, backlogBytes, slowClientMs: 1000, historySize: 10 }, noLog);
    const port = await serve(stream);
    const stalled = client(port);
    stalled.pause(); // never reads: the kernel's buffers fill, then the server's
    let fastBytes = 0;
    const fast = client(port);
    fast.on('data', (chunk: Buffer) => (fastBytes += chunk.length));
    let mostQueued = 0;
    await waitFor(
      () => {
        mostQueued = Math.max(mostQueued, stream.stats().queuedBytes);
        return stream.stats().dropped === 1;
      },
      25_000,
      'the stalled client to be dropped',
    );
    const { missed, clients } = stream.stats();
    expect(missed).toBeGreaterThan(0);
    expect(clients).toBe(1);
    // Past the backlog nothing more is written: at most one event beyond it ever waits.
    expect(mostQueued).toBeLessThanOrEqual(backlogBytes + 4200);
    const before = fastBytes;
    await waitFor(() => fastBytes > before + 40_000, 5000, 'the other client to go on getting events');
  });

  it('refuses a client past maxClients with 503', async () => {
    const stream = new EventStream(sample, () => 1, { intervalMs: 1000, maxClients: 1, backlogBytes: 1024, slowClientMs: 1000, historySize: 10 }, noLog);
    const port = await serve(stream);
    const first = client(port);
    let firstText = '';
    first.on('data', (chunk: Buffer) => (firstText += chunk.toString()));
    await waitFor(() => firstText.includes('event: stats'), 5000, 'the first client to be served');
    let secondText = '';
    client(port).on('data', (chunk: Buffer) => (secondText += chunk.toString()));
    await waitFor(() => secondText.startsWith('HTTP/1.1 503'), 5000, 'the second client to be refused');
    expect(stream.stats()).toMatchObject({ clients: 1, refused: 1 });
  });
});
