import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// `npm install git+<this repository>` gives a package with code: npm clones the repository,
// installs its dev dependencies, runs `prepare` (the build) and packs what `files` lists. This
// installs the repository's committed HEAD into an empty project through git+file:, as a user
// installing from GitHub would, and uses it with require and import.
const root = fileURLToPath(new URL('..', import.meta.url));

function unavailable(): string | undefined {
  if (!existsSync(join(root, '.git'))) return 'this checkout is not a git repository';
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: 'ignore' });
  } catch {
    return 'git is not available, or the repository has no commit';
  }
  return undefined;
}
const skip = unavailable();
if (skip !== undefined) console.warn(`skipping the git install test: ${skip}`);

const project = mkdtempSync(join(tmpdir(), 'collective-install-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.skipIf(skip !== undefined)('installed from git', () => {
  it('npm install git+file:// builds the package (prepare), which then works with require and import', { timeout: 300_000 }, () => {
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `git+file://${root}`], {
      cwd: project,
      timeout: 280_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const installed = join(project, 'node_modules', 'collective');
    for (const file of ['dist/esm/index.js', 'dist/cjs/require.js', 'dist/cjs/index.d.ts', 'LICENSE']) expect(existsSync(join(installed, file)), file).toBe(true);
    const seed = `
      const local = { host: '127.0.0.1', port: 0 };
      new Collective(local, [local], (c) => {
        c.set('foo.bar', 'quz');
        console.log(JSON.stringify({ got: c.get('foo.bar'), cluster: typeof Collective.cluster }));
        c.close();
      });`;
    const expected = { got: 'quz', cluster: 'function' };
    expect(JSON.parse(run(['-e', `var Collective = require('collective'); ${seed}`]))).toEqual(expected);
    expect(JSON.parse(run(['--input-type=module', '-e', `import Collective from 'collective'; ${seed}`]))).toEqual(expected);
    // The optional peer dependency is not installed with it; using `redis` says what to install.
    expect(existsSync(join(project, 'node_modules', 'redis'))).toBe(false);
    const withRedis = `Collective.start({ redis: { group: 'g' } }).then(() => console.log('started'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`;
    for (const output of [run(['-e', `var { Collective } = require('collective'); ${withRedis}`]), run(['--input-type=module', '-e', `import { Collective } from 'collective'; ${withRedis}`])]) {
      expect(JSON.parse(output)).toEqual({ code: 'ERR_COLLECTIVE_REDIS_MISSING', message: expect.stringContaining('npm install redis') });
    }
    // Every source map names a file that shipped.
    const maps = (readdirSync(join(installed, 'dist'), { recursive: true }) as string[]).filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(20);
    for (const map of maps) {
      const path = join(installed, 'dist', map);
      for (const source of (JSON.parse(readFileSync(path, 'utf8')) as { sources: string[] }).sources) {
        expect(existsSync(resolve(dirname(path), source)), `${map} names ${source}`).toBe(true);
      }
    }
  });
});
