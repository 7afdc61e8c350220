import { createServer, connect, type Socket } from 'node:net';

const open = new Set<Socket>();

/** Two connected TCP sockets on loopback (an ephemeral port), for link tests. */
export async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  const other = await accepted;
  server.close();
  open.add(client);
  open.add(other);
  return [client, other];
}

/** Destroys every socket made by socketPair (for afterEach). */
export function destroySockets(): void {
  for (const socket of open) socket.destroy();
  open.clear();
}
