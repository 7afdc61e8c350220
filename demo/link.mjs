// The network link between the demo's two "machines": a TCP relay the demo owns, so that it
// can partition them. `cut()` keeps connections open and drops every byte (a real partition:
// TCP stalls without an error, only collective's heartbeats notice); `heal()` drops the stalled
// connections (their streams lost bytes) and lets new ones through.
import { connect, createServer } from 'node:net';

export class Link {
  #target;
  #cut = false;
  #pairs = new Set();
  #server = createServer((client) => this.#accept(client));

  /** Listens on an ephemeral loopback port; resolves with it. */
  listen() {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve(this.#server.address().port)));
  }

  /** Where traffic goes (the hub on the other side, once it told its port). */
  target(port) {
    this.#target = port;
  }

  get isCut() {
    return this.#cut;
  }

  #accept(client) {
    client.on('error', () => {});
    if (this.#target === undefined) return client.destroy();
    const upstream = connect(this.#target, '127.0.0.1');
    upstream.on('error', () => {});
    const pair = [client, upstream];
    this.#pairs.add(pair);
    client.on('data', (data) => this.#cut || upstream.write(data));
    upstream.on('data', (data) => this.#cut || client.write(data));
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('close', close);
    upstream.on('close', close);
  }

  cut() {
    this.#cut = true;
  }

  heal() {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    this.#cut = false;
  }

  close() {
    this.heal();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
