import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { CHROMIUM, NO_BROWSER_REASON, launchBrowser } from '../helpers/browser.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { HubProcess, fullMesh, killHubProcesses } from '../helpers/hub-process.js';
import { REDIS_SERVER, RedisServer } from '../helpers/redis-server.js';

if (CHROMIUM === undefined) console.warn(`skipping the dashboard's browser tests: ${NO_BROWSER_REASON}`);

// The fixtures' heartbeat (hub-commands.mjs): a link cut is noticed within 3 of them.
const HEARTBEAT_MS = 400;
// The dashboard's event stream sends the hub's stats once a second.
const INTERVAL_MS = 1000;

let browser: Browser | undefined;
let redis: RedisServer | undefined;
const proxies: FaultProxy[] = [];

afterEach(async () => {
  await browser?.close();
  browser = undefined;
  await redis?.stop();
  redis = undefined;
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await killHubProcesses();
});

describe.skipIf(CHROMIUM === undefined)('the dashboard in a real headless browser', () => {
  it('shows a cluster with 2 workers and its peer, a write in the tree browser, and the peer going down when the link is cut', { timeout: 60_000 }, async () => {
    const peer = await HubProcess.start([]);
    const proxy = await new FaultProxy({ port: peer.port }).start();
    proxies.push(proxy);
    // The cluster's primary dials its peer through the proxy; the peer dials back directly.
    const primary = await HubProcess.start([proxy.address], '', { script: 'cluster-hub.mjs', env: { WORKERS: '2', DASHBOARD: '1' } });
    const url = primary.ready.dashboard as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await fullMesh([primary, peer]);

    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const opened = Date.now();
    await page.goto(url);
    // Both workers and the peer, within 3 s of opening the page.
    await page.locator('[data-member]').nth(1).waitFor({ timeout: 3000 });
    await page.locator(`[data-peer="${peer.id}"][data-state="up"]`).waitFor({ timeout: Math.max(1, 3000 - (Date.now() - opened)) });
    expect(await page.locator('[data-member]').count()).toBe(2);
    expect(await page.locator('#members tbody tr').count()).toBe(2);
    const pids = await page.locator('#members tbody tr td:nth-child(3)').allTextContents();
    expect(pids.every((pid) => /^\d+$/.test(pid))).toBe(true);
    expect(await page.locator('#hub-id').textContent()).toBe(primary.id);

    // A write made on the peer shows in the tree browser.
    await peer.write('set', 'shop.cart', 'three apples');
    await page.locator('#tree button', { hasText: 'shop' }).waitFor({ timeout: 5000 });
    await page.locator('#tree button', { hasText: 'shop' }).click();
    await page.locator('#tree code', { hasText: '"three apples"' }).waitFor({ timeout: 5000 });

    // The link cut: the peer's state turns within the heartbeat time (3 heartbeats to notice a
    // silent link, at once for a reset one) and the one stats interval the page may trail by.
    proxy.cut();
    const cutAt = Date.now();
    await page.locator(`[data-peer="${peer.id}"]:not([data-state="up"])`).waitFor({ timeout: 3 * HEARTBEAT_MS + INTERVAL_MS });
    const noticedMs = Date.now() - cutAt;
    expect(noticedMs).toBeLessThan(3 * HEARTBEAT_MS + INTERVAL_MS);

    const dir = join(tmpdir(), 'collective-dashboard');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot} (the peer's state turned ${noticedMs} ms after the cut)`);
    expect(errors).toEqual([]);
  });

  it.skipIf(REDIS_SERVER === undefined)('shows the hubs of a Redis group as peers, and a write of one in the tree browser of the other', { timeout: 60_000 }, async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url, REDIS_GROUP: 'dash' };
    const other = await HubProcess.start([], '', { env });
    const primary = await HubProcess.start([], '', { script: 'cluster-hub.mjs', env: { ...env, WORKERS: '1', DASHBOARD: '1' } });
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(primary.ready.dashboard as string);
    await page.locator(`[data-peer="${other.id}"][data-state="up"]`).waitFor({ timeout: 10_000 });
    expect(await page.locator('#peers tbody tr td:nth-child(2)').first().textContent()).toBe('redis dash');
    await other.write('set', 'from.redis', 'hello');
    await page.locator('#tree button', { hasText: 'from' }).click({ timeout: 10_000 });
    await page.locator('#tree code', { hasText: '"hello"' }).waitFor({ timeout: 5000 });
  });
});
