import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of one hub's port that a test can break: `cut()` resets every
 * connection and refuses new ones; `blackhole()` keeps connections open but drops every byte
 * (a partition: TCP stalls without an error, only heartbeats notice); `delay(ms)` holds data
 * back; `heal()` lets traffic through again (dropping blackholed connections, whose streams
 * lost bytes, so that both sides reconnect cleanly).
 */
export class FaultProxy {
  #target: { host: string; port: number } | undefined;
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #mode: 'pass' | 'cut' | 'blackhole' = 'pass';
  #delayMs = 0;

  constructor(target?: { host?: string; port: number }) {
    if (target !== undefined) this.retarget(target.port, target.host);
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Points the proxy at a (new) port; connections made before there is a target are reset. */
  retarget(port: number, host = '127.0.0.1'): void {
    this.#target = { host, port };
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.port };
  }

  #accept(client: Socket): void {
    client.on('error', () => undefined);
    const target = this.#target;
    if (this.#mode === 'cut' || target === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    upstream.on('error', () => undefined);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const forward = (to: Socket) => (data: Buffer) => {
      if (this.#mode !== 'pass') return; // blackholed: the bytes vanish
      if (this.#delayMs > 0) setTimeout(() => to.write(data), this.#delayMs);
      else to.write(data);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('close', close);
    upstream.on('close', close);
  }

  #dropAll(): void {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  cut(): void {
    this.#mode = 'cut';
    this.#dropAll();
  }

  blackhole(): void {
    this.#mode = 'blackhole';
  }

  delay(ms: number): void {
    this.#delayMs = ms;
  }

  heal(): void {
    if (this.#mode === 'blackhole') this.#dropAll();
    this.#mode = 'pass';
    this.#delayMs = 0;
  }

  async close(): Promise<void> {
    this.#dropAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
