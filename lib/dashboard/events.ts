import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';

/** The limits of a dashboard's event stream (defaults.ts). */
export interface EventStreamSettings {
  readonly intervalMs: number;
  readonly maxClients: number;
  /** Bytes that may wait for one client before it misses events. */
  readonly backlogBytes: number;
  /** How long a client may stay past its backlog before it is dropped. */
  readonly slowClientMs: number;
  /** How many samples of ops/s are kept for a page that opens later. */
  readonly historySize: number;
}

/** Counters of a dashboard's event stream. */
export interface EventStreamStats {
  /** Clients connected now. */
  clients: number;
  /** Bytes waiting to be taken by them, all together. */
  queuedBytes: number;
  /** Events a client missed because it had not taken the ones before. */
  missed: number;
  /** Clients disconnected for staying too far behind. */
  dropped: number;
  /** Clients refused for being one too many. */
  refused: number;
}

interface Client {
  readonly response: ServerResponse;
  // Since when it has been past its backlog (this clock), or undefined.
  overSince: number | undefined;
}

/**
 * The `/events` stream: a server-sent event of the hub's stats every interval to every page
 * open. Each event is encoded once for all clients. A client that does not take what it is
 * sent costs at most its backlog: past it, it misses events instead of queueing them, and one
 * that stays past it is dropped (a page reconnects by itself once it can keep up).
 */
export class EventStream {
  readonly #settings: EventStreamSettings;
  readonly #sample: () => { opsPerSecond: number };
  readonly #rate: () => number;
  readonly #log: Logger;
  readonly #clients = new Set<Client>();
  // [ms since the epoch, ops/s] per interval, oldest first.
  readonly #history: [number, number][] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #counters = { missed: 0, dropped: 0, refused: 0 };

  /**
   * `sample` takes the stats to send (only while a client listens: it walks the hub's
   * metadata); `rate` reads the ops/s alone, for the history kept meanwhile.
   */
  constructor(sample: () => { opsPerSecond: number }, rate: () => number, settings: EventStreamSettings, log: Logger) {
    this.#sample = sample;
    this.#rate = rate;
    this.#settings = settings;
    this.#log = log;
    // It samples with no page open too, so that a page opened later shows the minutes before.
    this.#timer = setInterval(() => this.#tick(), settings.intervalMs);
    this.#timer.unref();
  }

  /** Serves `response` as a client of the stream, until it closes. */
  accept(request: IncomingMessage, response: ServerResponse): void {
    if (this.#clients.size >= this.#settings.maxClients) {
      this.#counters.refused++;
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      response.end(`Too many event-stream clients (${this.#settings.maxClients})\n`);
      return;
    }
    const client: Client = { response, overSince: undefined };
    this.#clients.add(client);
    request.socket.setNoDelay(true);
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    // The page's first picture at once: the history, then the stats as they are now.
    response.write(`retry: 2000\nevent: history\ndata: ${JSON.stringify({ intervalMs: this.#settings.intervalMs, samples: this.#history })}\n\n`);
    response.write(statsEvent(this.#sample()));
    response.on('close', () => this.#clients.delete(client));
  }

  #tick(): void {
    if (this.#clients.size === 0) {
      this.#remember(this.#rate());
      return;
    }
    const stats = this.#sample();
    this.#remember(stats.opsPerSecond);
    const event = statsEvent(stats);
    const now = performance.now();
    for (const client of this.#clients) this.#send(client, event, now);
  }

  #remember(opsPerSecond: number): void {
    this.#history.push([Date.now(), opsPerSecond]);
    if (this.#history.length > this.#settings.historySize) this.#history.shift();
  }

  #send(client: Client, event: string, now: number): void {
    const { response } = client;
    if (response.writableLength <= this.#settings.backlogBytes) {
      client.overSince = undefined;
      response.write(event);
      return;
    }
    this.#counters.missed++;
    client.overSince ??= now;
    if (now - client.overSince < this.#settings.slowClientMs) return;
    this.#counters.dropped++;
    this.#clients.delete(client);
    this.#log('dropping an event-stream client: %d bytes waiting for %d ms', response.writableLength, Math.round(now - client.overSince));
    response.destroy();
  }

  stats(): EventStreamStats {
    let queuedBytes = 0;
    for (const client of this.#clients) queuedBytes += client.response.writableLength;
    return { clients: this.#clients.size, queuedBytes, ...this.#counters };
  }

  /** Ends every client's stream and stops sampling. */
  close(): void {
    clearInterval(this.#timer);
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
  }
}

// The stats with the hub's time (`at`): the page charts by it, not by the browser's clock.
function statsEvent(stats: object): string {
  return `event: stats\ndata: ${JSON.stringify({ at: Date.now(), ...stats })}\n\n`;
}
