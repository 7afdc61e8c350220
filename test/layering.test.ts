import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// DESIGN.md section 6, held: every folder of lib/ imports only what its row below allows, and
// no file imports itself back through others. Imports are read by TypeScript's own parser, so
// multi-line imports, `export ... from`, `import type` and `import()` all count.
const lib = fileURLToPath(new URL('../lib/', import.meta.url));

// Per folder: the folders (or top-level files, by name) of lib/ it may import, and the
// modules outside lib/ it may use. A folder may always import from itself.
const RULES: Record<string, { lib: string[]; external: string[] }> = {
  // The replicated tree, the replica: transport-free.
  core: { lib: ['errors.ts', 'defaults.ts'], external: [] },
  // Message shapes, their guards, framing, auth.
  wire: { lib: ['core', 'errors.ts', 'defaults.ts'], external: ['node:crypto'] },
  // One thin file per transport: no role.
  links: { lib: ['wire', 'errors.ts', 'log.ts', 'defaults.ts'], external: ['node:events', 'node:net', 'node:worker_threads'] },
  // The hub-to-hub protocol: only links' Link interface, and the clock it is given.
  mesh: { lib: ['core', 'wire', 'links/link.ts', 'errors.ts', 'log.ts'], external: ['node:events'] },
  // Transports under the protocol.
  'mesh/tcp': { lib: ['mesh', 'core', 'links', 'log.ts'], external: ['node:net', 'node:tls'] },
  // Hubs linked through Redis Streams: the same core, wire and membership, and node-redis,
  // loaded only when used (an optional peer dependency).
  'mesh/redis': { lib: ['mesh', 'core', 'wire', 'errors.ts', 'log.ts', 'defaults.ts'], external: ['node:events', 'redis'] },
  // The follower cache of a hub.
  member: { lib: ['core', 'wire', 'links/link.ts', 'errors.ts', 'log.ts', 'defaults.ts', 'operations.ts'], external: ['node:events'] },
  // A machine's replica: the member server, the hub, its settings.
  hub: {
    lib: ['core', 'wire', 'links', 'mesh', 'mesh/tcp', 'mesh/redis', 'member', 'threads', 'hub/persist', 'dashboard', 'errors.ts', 'log.ts', 'defaults.ts', 'operations.ts', 'types.ts'],
    external: ['node:events', 'node:worker_threads', 'node:tls', 'tinypool'],
  },
  // A hub's store on disk: Node's fs only (and zlib for its built-in CRC-32), no addon; a
  // snapshot encoded in slices as the wire encodes one (wire/json-slices.ts).
  'hub/persist': { lib: ['core', 'wire/json-slices.ts', 'errors.ts'], external: ['node:fs', 'node:fs/promises', 'node:path', 'node:os', 'node:zlib'] },
  // The hub's read-only web page, event stream and metrics: it reads the hub through an
  // interface of its own (stats, get) and imports no role.
  dashboard: { lib: ['core', 'errors.ts', 'log.ts', 'defaults.ts', 'types.ts'], external: ['node:http', 'node:net', 'node:crypto'] },
  // collective.cluster(): forking, respawn, the worker's channel to its primary.
  cluster: { lib: ['hub', 'links', 'errors.ts', 'log.ts', 'types.ts'], external: ['node:cluster', 'node:net', 'node:os'] },
  // collective.pool(): threads as members.
  threads: { lib: ['member', 'links', 'errors.ts'], external: ['node:url', 'node:worker_threads', 'node:module', 'tinypool'] },
  // The public face, and the leaves everyone uses.
  '.': {
    lib: ['core', 'wire', 'links', 'mesh', 'mesh/redis', 'member', 'hub', 'hub/persist', 'cluster', 'threads', 'errors.ts', 'log.ts', 'defaults.ts', 'operations.ts', 'types.ts', 'process-slot.ts', 'collective.ts'],
    external: ['node:cluster', 'node:worker_threads', 'node:tls', 'debug', 'tinypool'],
  },
};
// Leaves: they import nothing of lib/ (and log.ts only `debug`).
const LEAVES: Record<string, string[]> = { 'errors.ts': [], 'defaults.ts': [], 'log.ts': ['debug'] };

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const all = files(lib).map((file) => relative(lib, file));

/** The modules a file imports: lib/ files (resolved, relative to lib/) and outside modules. */
function importsOf(file: string): { internal: string[]; external: string[] } {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(lib, file), 'utf8'), true, true);
  const internal: string[] = [];
  const external: string[] = [];
  for (const { fileName } of importedFiles) {
    if (fileName.startsWith('.')) internal.push(relative(lib, resolve(dirname(join(lib, file)), fileName.replace(/\.js$/, '.ts'))));
    else external.push(fileName);
  }
  return { internal, external };
}

function folderOf(file: string): string {
  const folder = dirname(file);
  return folder === '.' ? '.' : folder;
}

// Whether `target` is covered by an allowance (a folder and everything in it, or one file).
function allowed(target: string, allowances: string[], own: string): boolean {
  if (own !== '.' && (folderOf(target) === own)) return true;
  return allowances.some((allowance) => (allowance.endsWith('.ts') ? target === allowance : folderOf(target) === allowance));
}

describe('lib/ layering', () => {
  it('has a rule for every folder, and files in each', () => {
    const folders = new Set(all.map(folderOf));
    expect([...folders].sort()).toEqual(Object.keys(RULES).sort());
  });

  it.each(all)('%s imports only what its folder may', (file) => {
    const { internal, external } = importsOf(file);
    const leaf = LEAVES[file];
    if (leaf !== undefined) {
      expect(internal, `${file} is a leaf`).toEqual([]);
      for (const module of external) expect(leaf, `${file}: ${module}`).toContain(module);
      return;
    }
    const folder = folderOf(file);
    const rule = RULES[folder]!;
    for (const target of internal) expect(allowed(target, rule.lib, folder), `${file} imports ${target}`).toBe(true);
    for (const module of external) expect(rule.external, `${file} imports ${module}`).toContain(module);
  });

  it('every import resolves to a file of lib/', () => {
    for (const file of all) for (const target of importsOf(file).internal) expect(all, `${file} imports ${target}`).toContain(target);
  });

  it('has no import cycle anywhere (type-only imports included)', () => {
    const graph = new Map(all.map((file) => [file, importsOf(file).internal]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of all) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('parses multi-line imports (the parser the rules rely on)', () => {
    const { importedFiles } = ts.preProcessFile("import {\n  a,\n  b,\n} from '../links/tcp.js';\nexport { c } from './x.js';\nconst m = await import('node:cluster');", true, true);
    expect(importedFiles.map((entry) => entry.fileName)).toEqual(['../links/tcp.js', './x.js', 'node:cluster']);
  });
});
