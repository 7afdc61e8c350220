import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { Change, CollectiveStats, JsonValue } from '../lib/index.js';
import { Collective } from '../lib/index.js';
import { killAll, runFixture } from './helpers/processes.js';

afterEach(killAll);

// These run against dist/ (built by `npm test`'s pretest), resolved by package name the way a
// user's code resolves it: Node's package self-reference applies inside this folder.
const root = fileURLToPath(new URL('..', import.meta.url));

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

const USE = `
  const hub = new Collective();
  await hub.set('foo.bar', 'quz');
  await hub.incr('hits', 2);
  console.log(JSON.stringify({ foo: hub.get('foo.bar'), hits: hub.get('hits'), frozen: Object.isFrozen(hub.get()) }));
  await hub.close();
`;

describe('the built package', () => {
  it('exists (npm test builds it first)', () => {
    expect(existsSync(`${root}dist/esm/index.js`)).toBe(true);
    expect(existsSync(`${root}dist/cjs/index.js`)).toBe(true);
    expect(existsSync(`${root}dist/esm/index.d.ts`)).toBe(true);
  });

  it('works with import: default and named exports', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import collective, { Collective, CollectiveError } from 'collective';
       if (collective.Collective !== Collective) throw new Error('default export differs');
       if (typeof CollectiveError !== 'function') throw new Error('no CollectiveError');
       ${USE}`,
    ]);
    expect(JSON.parse(out)).toEqual({ foo: 'quz', hits: 2, frozen: true });
  });

  it('works with require', () => {
    const out = node([
      '-e',
      `const collective = require('collective');
       const { Collective } = collective;
       if (collective.default.Collective !== Collective) throw new Error('default export differs');
       (async () => { ${USE} })().catch((error) => { console.error(error); process.exit(1); });`,
    ]);
    expect(JSON.parse(out)).toEqual({ foo: 'quz', hits: 2, frozen: true });
  });

  it('supports the seed API: new Collective(local, allHosts, callback)', () => {
    const out = node([
      '-e',
      `const { Collective } = require('collective');
       const local = { host: 'localhost', port: 0 };
       new Collective(local, [local], (c) => {
         c.set('foo.bar', 'quz');
         console.log(c.get('foo.bar'));
         c.close();
       });`,
    ]);
    expect(out.trim()).toBe('quz');
  });

  it('the default export is collective.js’s constructor, in both formats, with the module API on it', () => {
    const seed = (Collective: string) => `
      const local = { host: '127.0.0.1', port: 0 };
      new ${Collective}(local, [local], (collective) => {
        collective.set('foo.bar', 'quz');
        console.log(JSON.stringify({
          got: collective.get('foo.bar'),
          hub: collective instanceof ${Collective} && collective instanceof ${Collective}.Collective,
          api: ['cluster', 'ready', 'get', 'set', 'incr', 'pool'].every((name) => typeof ${Collective}[name] === 'function'),
          operations: ${Collective}.OPERATIONS,
          self: ${Collective}.default === ${Collective},
        }));
        collective.close();
      });`;
    const expected = { got: 'quz', hub: true, api: true, operations: { SET: 0, INCREMENT: 1, DELETE: 2 }, self: true };
    expect(JSON.parse(node(['-e', `var Collective = require('collective'); ${seed('Collective')}`]))).toEqual(expected);
    expect(JSON.parse(node(['--input-type=module', '-e', `import Collective from 'collective'; ${seed('Collective')}`]))).toEqual(expected);
    expect(() => node(['-e', `require('collective')()`])).toThrow(/cannot be invoked without 'new'/);
  });

  it('every named export is on the default export too, in both formats', () => {
    const esm = JSON.parse(
      node([
        '--input-type=module',
        '-e',
        `import collective, * as named from 'collective';
         console.log(JSON.stringify({ names: Object.keys(named).filter((n) => n !== 'default'), missing: Object.keys(named).filter((n) => n !== 'default' && collective[n] !== named[n]) }))`,
      ]),
    ) as { names: string[]; missing: string[] };
    expect(esm.missing).toEqual([]);
    expect(esm.names).toEqual(expect.arrayContaining(['Collective', 'OPERATIONS', 'PeerError', 'isCollectiveIpcMessage', 'set']));
    const cjs = node(['-e', `const c = require('collective'); console.log(JSON.stringify(${JSON.stringify(esm.names)}.filter((n) => c[n] === undefined)))`]);
    expect(JSON.parse(cjs)).toEqual([]);
  });

  it('packs its code, its LICENSE, and the sources its source maps name', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const files = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path));
    for (const file of ['LICENSE', 'README.md', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/require.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json']) {
      expect(files.has(file), file).toBe(true);
    }
    const maps = [...files].filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(20);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(root, map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(files.has(posix.join(posix.dirname(map), source)), `${map} names ${source}`).toBe(true);
    }
  });

  it('exposes the worker API as named exports and on the default export, in both formats', () => {
    const names = ['cluster', 'ready', 'get', 'set', 'delete', 'incr', 'decr', 'append', 'cas', 'watch', 'flush', 'stats'];
    const esm = node([
      '--input-type=module',
      '-e',
      `import collective, * as named from 'collective';
       console.log(JSON.stringify(${JSON.stringify(names)}.filter((n) => typeof named[n] !== 'function' || named[n] !== collective[n])))`,
    ]);
    expect(JSON.parse(esm)).toEqual([]);
    const cjs = node([
      '-e',
      `const c = require('collective');
       console.log(JSON.stringify(${JSON.stringify(names)}.filter((n) => typeof c[n] !== 'function' || c[n] !== c.default[n])))`,
    ]);
    expect(JSON.parse(cjs)).toEqual([]);
  });

  it('outside a cluster worker and without a hub, the worker API says what is missing', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import collective from 'collective';
       try { collective.get('x'); } catch (error) { console.log(error.code + ' ' + error.message); }
       collective.ready().catch((error) => console.log(error.code));`,
    ]);
    expect(out).toMatch(/ERR_COLLECTIVE_NOT_READY no collective store in this process: call collective\.cluster\(\)/);
    expect(out).toMatch(/\nERR_COLLECTIVE_NOT_READY\n?$/);
  });

  it('require does not load tinypool', () => {
    const out = node(['-e', `require('collective'); console.log(Object.keys(require.cache).some((f) => f.includes('tinypool')))`]);
    expect(out.trim()).toBe('false');
  });

  it('a process with a pool exits by itself once its work is done, as with tinypool alone', () => {
    const started = Date.now();
    const out = node([fileURLToPath(new URL('fixtures/pool-exit.mjs', import.meta.url))]);
    expect(JSON.parse(out)).toEqual({ readOwnWrites: true, hits: 3 });
    expect(Date.now() - started).toBeLessThan(15_000); // node() itself gives up after 20 s
  });

  it('pool() works from require too: it loads tinypool then, and threads share the hub', () => {
    const task = new URL('fixtures/pool-task.mjs', import.meta.url).href;
    const out = node([
      '-e',
      `const { Collective } = require('collective');
       (async () => {
         const hub = new Collective();
         await hub.set('config', 'cjs');
         const pool = hub.pool({ filename: ${JSON.stringify(task)}, maxThreads: 1 });
         const read = await pool.run({ path: 'config' }, { name: 'read' });
         await pool.run({ n: 3, tag: 'cjs' });
         console.log(JSON.stringify({ read: read.value, hits: hub.get('hits') }));
         await pool.destroy();
         await hub.close();
       })().catch((error) => { console.error(error); process.exit(1); });`,
    ]);
    expect(JSON.parse(out)).toEqual({ read: 'cjs', hits: 3 });
  });
});

describe('one store per process, whichever way collective is loaded', () => {
  it('import and require in one primary and in its worker share one hub and one member', async () => {
    const { result } = await runFixture('dual-package.mjs', {}, 30_000);
    expect(result).toEqual({
      primary: { requireSeesImport: true, secondCluster: 'collective.cluster() was already called in this process' },
      worker: { requireSeesImport: 'esm', importSeesRequire: 'cjs', sameStats: true },
      members: 1,
      hubSees: { viaRequire: 'cjs', viaImport: 'esm' },
    });
  });
});

describe('public types', () => {
  it('types the store API', () => {
    const hub = new Collective();
    expectTypeOf(hub.get).returns.toEqualTypeOf<JsonValue | undefined>();
    expectTypeOf(hub.set<number>).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(hub.cas<number>).returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(hub.watch).parameter(1).parameter(1).toEqualTypeOf<Change>();
    expectTypeOf(hub.stats()).toEqualTypeOf<CollectiveStats>();
    void hub.close();
  });
});
