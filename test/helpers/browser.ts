// A real headless browser for the dashboard's tests: Debian's chromium (or CHROMIUM_PATH),
// driven by playwright-core. Tests skip with a message where there is none.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser executable found here, if any. */
export const CHROMIUM = CANDIDATES.find((path): path is string => path !== undefined && path !== '' && existsSync(path));

/** Why the browser tests skip, when they do. */
export const NO_BROWSER_REASON = "no chromium on this machine (.ci/run installs Debian's chromium when it runs as root with apt; or set CHROMIUM_PATH)";

/** Starts the browser headless; close it in afterEach. */
export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: CI runs as root, where chromium refuses its sandbox.
  return chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
