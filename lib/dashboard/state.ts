import { parsePath, type Path, type Segments } from '../core/path.js';
import type { JsonValue } from '../core/value.js';

/** What `/state` reads from: the hub's `get`. */
export interface StateSource {
  get(path?: Path): JsonValue | undefined;
}

/** The bounds of `/state` (defaults.ts). */
export interface StateLimits {
  readonly maxDepth: number;
  /** The most entries listed at once. */
  readonly pageSize: number;
  /** The largest subtree returned whole, in nodes. */
  readonly maxNodes: number;
}

/** An answer of `/state`: an HTTP status and a JSON body. */
export interface StateAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** One entry of a listed subtree: its key, its type, its size (containers) or value (leaves). */
export interface StateEntry {
  key: string;
  type: 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
  size?: number;
  value?: JsonValue;
  /** The string was cut to `LEAF_CHARS` characters. */
  truncated?: true;
}

// A listed leaf string is cut past this: the tree browser shows values, not documents.
const LEAF_CHARS = 200;

// The keys of each object listed, kept while it lives: values are frozen and replaced, never
// changed, so paging through a large object lists its keys once, not once per page.
const listedKeys = new WeakMap<object, readonly string[]>();

function keysOf(value: object): readonly string[] {
  let keys = listedKeys.get(value);
  if (keys === undefined) {
    keys = Array.isArray(value) ? value.map((_, index) => String(index)) : Object.keys(value);
    listedKeys.set(value, keys);
  }
  return keys;
}

const failure = (status: number, code: string, message: string): StateAnswer => ({ status, body: { error: { code, message } } });

/**
 * `GET /state?path=a.b`: the subtree at the path, whole, if it has at most `maxNodes` nodes.
 * With `keys=1`: its entries from `offset`, at most `limit` (the tree browser's pages). The
 * path is dotted, or a JSON array of segments (for keys that hold dots); none is the root.
 */
export function readState(source: StateSource, query: URLSearchParams, limits: StateLimits): StateAnswer {
  let segments: Segments | undefined;
  try {
    segments = pathOf(query.get('path'), limits.maxDepth);
  } catch (error) {
    return failure(400, 'bad-path', (error as Error).message);
  }
  const value = segments === undefined ? source.get() : source.get(segments);
  const path = segments ?? [];
  if (value === undefined) return failure(404, 'not-found', `Nothing is stored at ${JSON.stringify(path)}`);
  if (query.get('keys') !== '1') {
    if (!fits(value, limits.maxNodes)) {
      return failure(413, 'too-large', `The subtree at ${JSON.stringify(path)} has more than ${limits.maxNodes} nodes: list it by pages with keys=1`);
    }
    return { status: 200, body: { path, value } };
  }
  const offset = count(query.get('offset'), 0);
  const limit = count(query.get('limit'), limits.pageSize);
  if (offset === undefined || limit === undefined || limit < 1 || limit > limits.pageSize) {
    return failure(400, 'bad-query', `Expected offset >= 0 and limit 1..${limits.pageSize}`);
  }
  if (typeof value !== 'object' || value === null) return { status: 200, body: { path, ...describeEntry('', value), total: 0, offset, entries: [] } };
  const keys = keysOf(value);
  const entries = keys.slice(offset, offset + limit).map((key) => describeEntry(key, (value as Record<string, JsonValue>)[key]!));
  return { status: 200, body: { path, type: Array.isArray(value) ? 'array' : 'object', total: keys.length, offset, entries } };
}

function pathOf(text: string | null, maxDepth: number): Segments | undefined {
  if (text === null || text === '') return undefined;
  if (!text.startsWith('[')) return parsePath(text, maxDepth);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TypeError(`Expected the path to be dotted or a JSON array of strings, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return Array.isArray(parsed) && parsed.length === 0 ? undefined : parsePath(parsed, maxDepth);
}

function count(text: string | null, otherwise: number): number | undefined {
  if (text === null) return otherwise;
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

function describeEntry(key: string, value: JsonValue): StateEntry {
  if (value === null) return { key, type: 'null', value };
  if (Array.isArray(value)) return { key, type: 'array', size: value.length };
  if (typeof value === 'object') return { key, type: 'object', size: keysOf(value).length };
  if (typeof value === 'string' && value.length > LEAF_CHARS) return { key, type: 'string', value: value.slice(0, LEAF_CHARS), truncated: true };
  return { key, type: typeof value as 'string' | 'number' | 'boolean', value };
}

// Whether `value` has at most `budget` nodes, counted until the budget runs out.
function fits(root: JsonValue, budget: number): boolean {
  const stack: JsonValue[] = [root];
  let left = budget;
  while (stack.length > 0) {
    if (--left < 0) return false;
    const value = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length > left) return false;
      for (const child of value) stack.push(child);
      continue;
    }
    const keys = keysOf(value);
    if (keys.length > left) return false;
    for (const key of keys) stack.push((value as Record<string, JsonValue>)[key]!);
  }
  return true;
}
