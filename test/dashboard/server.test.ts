import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { Collective } from '../../lib/index.js';
import { waitFor } from '../helpers/wait.js';

const hubs: Collective[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

async function start(options: Parameters<typeof Collective.start>[0] = {}): Promise<Collective> {
  const hub = await Collective.start(options);
  hubs.push(hub);
  return hub;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to 127.0.0.1:`port`, its whole answer. */
function fetchRaw(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const portOf = (hub: Collective): number => Number(new URL(hub.dashboardUrl!).port);

describe('the dashboard: who may read it', () => {
  it('serves loopback by default and refuses any other address without a token, as listen does without a secret', async () => {
    expect(() => new Collective(undefined, undefined, { dashboard: { host: '0.0.0.0', port: 0 } })).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_OPTION', message: expect.stringMatching(/without a `token`/) }));
    const hub = await start();
    await expect(hub.serveDashboard({ host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_INVALID_OPTION' });
    expect(hub.dashboardUrl).toBeUndefined();
    const { url } = await hub.serveDashboard({ port: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(hub.dashboardUrl).toBe(url);
    await expect(hub.serveDashboard({ port: 0 })).rejects.toMatchObject({ code: 'ERR_COLLECTIVE_INVALID_OPTION' });
    for (const bad of [{ port: -1 }, { port: 1.5 }, { token: 'short' }, { intervalMs: 0 }, { insecure: 'yes' }]) {
      expect(() => new Collective(undefined, undefined, { dashboard: bad as never }), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'ERR_COLLECTIVE_INVALID_OPTION' }));
    }
  });

  it('with a token, answers only requests that carry it, as a bearer header or ?token=', async () => {
    const token = 'correct horse battery staple';
    // Any address, with a token: this one listens on every interface; the test calls loopback.
    const hub = await start({ dashboard: { host: '0.0.0.0', port: 0, token } });
    const port = portOf(hub);
    for (const path of ['/', '/metrics', '/state', '/events']) {
      const refused = await fetchRaw(port, path);
      expect(refused.status, path).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expect((await fetchRaw(port, path, { headers: { authorization: 'Bearer wrong token!' } })).status).toBe(401);
    }
    expect((await fetchRaw(port, '/metrics', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetchRaw(port, `/metrics?token=${encodeURIComponent(token)}`)).status).toBe(200);
    expect((await fetchRaw(port, `/metrics?token=${encodeURIComponent(token)}x`)).status).toBe(401);
  });

  it('without a token, answers only requests that name a loopback host (a page of another site rebound to 127.0.0.1 is refused)', async () => {
    const hub = await start({ dashboard: { port: 0 } });
    const port = portOf(hub);
    expect((await fetchRaw(port, '/metrics', { headers: { host: `localhost:${port}` } })).status).toBe(200);
    const rebound = await fetchRaw(port, '/state', { headers: { host: `evil.example:${port}` } });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error.code).toBe('bad-host');
  });

  it('is read-only: every method but GET and HEAD is refused and changes nothing', async () => {
    const hub = await start({ dashboard: { port: 0 } });
    await hub.set('a', 1);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await fetchRaw(portOf(hub), '/state?path=a', { method });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
    }
    expect(hub.get()).toEqual({ a: 1 });
  });

  it('serves one self-contained page: its script and style inline and pinned by the content security policy, nothing from elsewhere', async () => {
    const hub = await start({ dashboard: { port: 0 } });
    const page = await fetchRaw(portOf(hub), '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const policy = String(page.headers['content-security-policy']);
    expect(policy).toMatch(/default-src 'none'/);
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(policy).toMatch(/connect-src 'self'/);
    expect(page.body).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(page.body).toMatch(/<script>[\s\S]+EventSource[\s\S]+<\/script>/);
  });

  it('closes with its hub, and a port in use makes the hub fail to start, closed', async () => {
    const hub = await start({ dashboard: { port: 0 } });
    const port = portOf(hub);
    await expect(Collective.start({ dashboard: { port } })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await hub.close();
    await expect(fetchRaw(port, '/metrics')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('the dashboard: /state', () => {
  it('reads a subtree, lists one by pages, and refuses a bad path, a bad page and a subtree too large to send whole', async () => {
    const hub = await start({ dashboard: { port: 0 } });
    await hub.set('users', Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`u${i}`, { n: i }])));
    await hub.set(['dots', 'a.b'], 'x'.repeat(500));
    const port = portOf(hub);
    const read = async (query: string) => {
      const answer = await fetchRaw(port, `/state?${query}`);
      return { status: answer.status, body: JSON.parse(answer.body) };
    };
    expect(await read('path=users.u7')).toEqual({ status: 200, body: { path: ['users', 'u7'], value: { n: 7 } } });
    expect((await read(`path=${encodeURIComponent('["dots","a.b"]')}`)).body.value).toBe('x'.repeat(500));
    const page = await read('path=users&keys=1&offset=240&limit=100');
    expect(page.body).toMatchObject({ path: ['users'], type: 'object', total: 250, offset: 240 });
    expect(page.body.entries.map((entry: { key: string }) => entry.key)).toEqual(Array.from({ length: 10 }, (_, i) => `u${240 + i}`));
    expect(page.body.entries[0]).toEqual({ key: 'u240', type: 'object', size: 1 });
    const root = await read('keys=1');
    expect(root.body.entries).toEqual([
      { key: 'users', type: 'object', size: 250 },
      { key: 'dots', type: 'object', size: 1 },
    ]);
    const leaf = (await read('path=dots&keys=1')).body.entries[0];
    expect(leaf).toEqual({ key: 'a.b', type: 'string', value: 'x'.repeat(200), truncated: true });
    for (const bad of ['path=__proto__', 'path=a..b', `path=${encodeURIComponent('["a",1]')}`, `path=${encodeURIComponent('["a"')}`, `path=${'a.'.repeat(40)}a`]) {
      const answer = await read(bad);
      expect(answer.status, bad).toBe(400);
      expect(answer.body.error.code).toBe('bad-path');
    }
    for (const bad of ['keys=1&offset=-1', 'keys=1&limit=0', 'keys=1&limit=101', 'keys=1&offset=x']) expect((await read(bad)).status, bad).toBe(400);
    expect(await read('path=nobody')).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
    await hub.set('big', Array.from({ length: 20_000 }, (_, i) => i));
    expect(await read('path=big')).toMatchObject({ status: 413, body: { error: { code: 'too-large' } } });
    expect((await read('path=big&keys=1')).body).toMatchObject({ type: 'array', total: 20_000 });
  });
});

describe('the dashboard: /metrics', () => {
  it('is Prometheus text a real parser reads, with the figures of stats()', async () => {
    const b = await start({ listen: { host: '127.0.0.1', port: 0 } });
    const a = await start({ listen: { host: '127.0.0.1', port: 0 }, peers: [b.local!], dashboard: { port: 0 } });
    await waitFor(() => a.stats().peers.some((peer) => peer.outbound === 'up'), 10_000, 'the peer link');
    await a.set('x', 1);
    await b.incr('y', 5);
    await waitFor(() => b.stats().peers[0]?.behind === 0 && a.get('y') === 5 && a.stats().peers[0]?.behind === 0, 10_000, 'the writes to cross');
    const answer = await fetchRaw(portOf(a), '/metrics');
    expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = new Map(parsePrometheusTextFormat(answer.body).map((family) => [family.name, family]));
    const stats = a.stats();
    const value = (name: string) => Number(families.get(name)?.metrics[0]?.value);
    expect(families.get('collective_info')?.metrics[0]?.labels).toEqual({ id: a.id });
    expect(value('collective_ops_applied_total')).toBe(stats.opsApplied);
    expect(families.get('collective_ops_applied_total')?.type).toBe('COUNTER');
    expect(value('collective_ops_local_total')).toBe(1);
    expect(families.get('collective_metadata_nodes')?.type).toBe('GAUGE');
    const up = families.get('collective_peer_up')?.metrics ?? [];
    expect(up).toEqual([{ value: '1', labels: { peer: b.id, address: `127.0.0.1:${b.port}` } }]);
    expect(families.get('collective_peer_behind_writes')?.metrics[0]?.value).toBe('0');
    expect(families.get('collective_peer_lag_seconds')?.metrics[0]?.value).toBe('0');
    expect(Math.abs(Number(families.get('collective_peer_clock_offset_seconds')?.metrics[0]?.value))).toBeLessThan(5);
    for (const family of families.values()) expect(family.name).toMatch(/^collective_[a-z_]+$/);
  });
});

describe('the dashboard: /events', () => {
  it('streams the stats to 100 clients at once, each its history first, and forgets each one that leaves', { timeout: 30_000 }, async () => {
    const hub = await start({ dashboard: { port: 0, intervalMs: 50 } });
    const port = portOf(hub);
    const received: string[] = Array.from({ length: 100 }, () => '');
    for (let i = 0; i < 100; i++) {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received[i] += chunk));
      socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    }
    await hub.set('seen', true);
    // Every client: the history, then stats events, one with the write applied.
    await waitFor(() => received.every((text) => /event: history\n/.test(text) && /"opsApplied":1\b/.test(text)), 20_000, 'every client to get a stats event after the write');
    expect(received.every((text) => text.startsWith('HTTP/1.1 200') && /content-type: text\/event-stream/i.test(text))).toBe(true);
    expect(hub.stats().dashboard?.clients).toBe(100);
    for (const socket of sockets.splice(0)) socket.destroy();
    await waitFor(() => hub.stats().dashboard?.clients === 0, 5000, 'the clients to be forgotten');
  });
});
