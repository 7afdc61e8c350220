import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULTS } from '../defaults.js';
import type { Logger } from '../log.js';
import type { CollectiveStats } from '../types.js';
import { TokenCheck } from './auth.js';
import { EventStream, type EventStreamStats } from './events.js';
import { renderMetrics } from './metrics.js';
import { PAGE_HTML, PAGE_POLICY } from './page.js';
import type { DashboardSettings } from './settings.js';
import { readState, type StateLimits, type StateSource } from './state.js';

/** What a dashboard shows: a hub. */
export interface DashboardSource extends StateSource {
  readonly id: string;
  stats(): CollectiveStats;
  /** `stats().opsPerSecond` alone, without the rest's cost. */
  opsPerSecond(): number;
}

// Host headers a dashboard without a token answers: its own loopback names. A page of another
// site whose name was made to resolve to 127.0.0.1 (DNS rebinding) sends its own name.
const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * A hub's dashboard (DESIGN.md section 6, dashboard/): an HTTP server of four read-only routes.
 * `GET /` the page; `GET /events` the hub's stats as server-sent events; `GET /metrics` the
 * Prometheus text; `GET /state` a read of the store. Nothing it serves can change the store.
 */
export class Dashboard {
  readonly #server: Server;
  readonly #source: DashboardSource;
  readonly #events: EventStream;
  readonly #tokens: TokenCheck;
  readonly #settings: DashboardSettings;
  readonly #state: StateLimits;
  readonly #log: Logger;
  #url = '';
  // Served on loopback without a token: only requests naming a loopback host are answered.
  readonly #checksHost: boolean;

  private constructor(source: DashboardSource, settings: DashboardSettings, maxDepth: number, log: Logger) {
    this.#source = source;
    this.#settings = settings;
    this.#log = log;
    this.#tokens = new TokenCheck(settings.token);
    this.#checksHost = settings.token === undefined && LOOPBACK_HOST.test(settings.host.includes(':') ? `[${settings.host}]` : settings.host);
    this.#state = { maxDepth, pageSize: DEFAULTS.dashboardPageSize, maxNodes: DEFAULTS.dashboardMaxStateNodes };
    this.#events = new EventStream(() => source.stats(), () => source.opsPerSecond(), {
      intervalMs: settings.intervalMs,
      maxClients: DEFAULTS.dashboardMaxClients,
      backlogBytes: DEFAULTS.dashboardClientBacklog,
      slowClientMs: DEFAULTS.dashboardSlowClientMs,
      historySize: DEFAULTS.dashboardHistory,
    }, log);
    this.#server = createServer((request, response) => this.#serverOnRequest(request, response));
  }

  /** Serves `source`'s dashboard; resolves once it listens, rejects if it cannot. */
  static async open(source: DashboardSource, settings: DashboardSettings, maxDepth: number, log: Logger): Promise<Dashboard> {
    const dashboard = new Dashboard(source, settings, maxDepth, log);
    await dashboard.#listen();
    return dashboard;
  }

  async #listen(): Promise<void> {
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#settings.port, this.#settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      this.#events.close();
      throw error;
    });
    server.on('error', (error) => this.#log('dashboard server error: %s', error.message));
    const { port } = server.address() as AddressInfo;
    const host = this.#settings.host.includes(':') ? `[${this.#settings.host}]` : this.#settings.host;
    this.#url = `http://${host}:${port}/`;
    this.#log('dashboard at %s', this.#url);
  }

  /** Where the page is (`http://host:port/`), without the token. */
  get url(): string {
    return this.#url;
  }

  /** The event stream's counters. */
  stats(): EventStreamStats {
    return this.#events.stats();
  }

  #serverOnRequest(request: IncomingMessage, response: ServerResponse): void {
    try {
      this.#route(request, response);
    } catch (error) {
      // A read failed (a bug, not bad input): the hub goes on, this request gets a 500.
      // The path alone: the query may hold the token.
      this.#log('dashboard request %s failed: %s', (request.url ?? '').split('?')[0], (error as Error).message);
      if (!response.headersSent) this.#json(response, 500, { error: { code: 'internal', message: 'The dashboard could not answer' } });
      else response.destroy();
    }
  }

  #route(request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      this.#json(response, 405, { error: { code: 'method-not-allowed', message: 'The dashboard is read-only: GET and HEAD only' } });
      return;
    }
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://dashboard');
    } catch {
      this.#json(response, 400, { error: { code: 'bad-request', message: 'Malformed request target' } });
      return;
    }
    if (this.#checksHost && !LOOPBACK_HOST.test(request.headers.host ?? '')) {
      this.#json(response, 403, { error: { code: 'bad-host', message: 'This dashboard answers its own address only' } });
      return;
    }
    if (!this.#tokens.allows(request, url.searchParams)) {
      response.setHeader('www-authenticate', 'Bearer');
      this.#json(response, 401, { error: { code: 'unauthorized', message: 'A token is needed: Authorization: Bearer <token>, or ?token=' } });
      return;
    }
    switch (url.pathname) {
      case '/':
        response.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_POLICY });
        response.end(PAGE_HTML);
        return;
      case '/events':
        if (request.method === 'HEAD') {
          response.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/event-stream; charset=utf-8' });
          response.end();
        } else this.#events.accept(request, response);
        return;
      case '/metrics':
        response.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(renderMetrics(this.#source.stats(), this.#events.stats()));
        return;
      case '/state': {
        const answer = readState(this.#source, url.searchParams, this.#state);
        this.#json(response, answer.status, answer.body);
        return;
      }
      default:
        this.#json(response, 404, { error: { code: 'not-found', message: `No such page: ${url.pathname.slice(0, 100)}` } });
    }
  }

  #json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
  }

  /** Ends every event stream and stops listening. */
  async close(): Promise<void> {
    this.#events.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}
