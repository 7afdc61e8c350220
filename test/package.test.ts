import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Change, CollectiveStats, JsonValue } from '../lib/index.js';
import { Collective } from '../lib/index.js';

// These run against dist/ (built by `npm test`'s pretest), resolved by package name the way a
// user's code resolves it: Node's package self-reference applies inside this folder.
const root = fileURLToPath(new URL('..', import.meta.url));

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20_000 });
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

describe('public types', () => {
  it('types the store API', () => {
    const hub = new Collective();
    expectTypeOf(hub.get).returns.toEqualTypeOf<JsonValue | undefined>();
    expectTypeOf(hub.set).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(hub.cas).returns.toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(hub.watch).parameter(1).parameter(1).toEqualTypeOf<Change>();
    expectTypeOf(hub.stats()).toEqualTypeOf<CollectiveStats>();
    void hub.close();
  });
});
