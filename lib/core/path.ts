import { DEFAULTS } from '../defaults.js';
import { describe, inputRangeError, inputTypeError } from '../errors.js';
import { Generations } from './generations.js';

/** A path into the store: `'a.b.c'`, or an array of segments when a segment holds a dot. */
export type Path = string | readonly string[];

/** A validated path: at least one non-empty segment, none of them forbidden. Frozen. */
export type Segments = readonly string[];

/** How deep a path may go unless configured otherwise. */
export const DEFAULT_MAX_DEPTH = DEFAULTS.maxDepth;

/**
 * Whether `key` may be used as a path segment or an object key inside a stored value. These
 * three names reach Object.prototype or a constructor when used as property keys; letting one
 * through anywhere would let a remote peer pollute prototypes of the whole process. (Plain
 * comparisons: this runs on every segment of every array path, and beats a Set lookup.)
 */
export function isAllowedKey(key: string): boolean {
  return key !== '__proto__' && key !== 'prototype' && key !== 'constructor';
}

// Parsed string paths, so that a hot write does not split its path on every call (reads keep
// their own, with the value: core/read-cache.ts). Kept small on purpose: measured on a 100k-key
// tree, a lookup in a 100k-entry Map costs more than the walk it saves (cache misses), while a
// few thousand hot entries hit in ~15 ns.
const parsedPaths = new Generations<Segments>(2048);

function invalidPath(path: unknown, why: string): TypeError {
  return inputTypeError('ERR_COLLECTIVE_INVALID_PATH', `Invalid path ${describe(path)}: ${why}`);
}

function checkSegment(path: unknown, segment: unknown, index: number): string {
  if (typeof segment !== 'string') {
    throw invalidPath(path, `segment ${index} is ${describe(segment)}, expected a string`);
  }
  if (segment.length === 0) throw invalidPath(path, `segment ${index} is empty`);
  if (!isAllowedKey(segment)) {
    throw invalidPath(path, `segment ${index} is \`${segment}\`, which is never allowed`);
  }
  return segment;
}

function checkDepth(path: unknown, depth: number, maxDepth: number): void {
  if (depth > maxDepth) {
    throw inputRangeError(
      'ERR_COLLECTIVE_INVALID_PATH',
      `Invalid path ${describe(path)}: ${depth} segments, the limit is ${maxDepth}`,
    );
  }
}

function parseString(path: string): Segments {
  const cached = parsedPaths.get(path);
  if (cached !== undefined) return cached;
  const segments = Object.freeze(splitString(path));
  parsedPaths.set(path, segments);
  return segments;
}

const DOT = 46;
// The segments of the path being split: reused, so that a split allocates one array of the
// exact length (a copy of it), not one grown for pushes (room for 17).
const splitting: string[] = [];

// A string path split and checked (not frozen, not cached). Split here rather than by
// `String.prototype.split`, a call into V8's runtime: on 100k paths of depth 3 read at random,
// 180 ns a path instead of 340 ns (1k hot paths: 85 ns instead of 200 ns).
function splitString(path: string): string[] {
  if (path.length === 0) throw invalidPath(path, 'it is empty');
  let count = 0;
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) !== DOT) continue;
    splitting[count] = checkSegment(path, path.slice(start, i), count);
    count++;
    start = i + 1;
  }
  splitting[count] = checkSegment(path, path.slice(start), count);
  return splitting.slice(0, count + 1);
}

/**
 * The segments of a string path, validated as `parsePath` does (a `TypeError` or `RangeError`
 * quoting it), split afresh and kept nowhere: for a caller with a cache of its own.
 */
export function splitPath(path: string, maxDepth: number = DEFAULT_MAX_DEPTH): string[] {
  const segments = splitString(path);
  checkDepth(path, segments.length, maxDepth);
  return segments;
}

/**
 * Validates a path and returns its segments. Throws a `TypeError` quoting the path for an empty
 * path or segment, a non-string segment, or a forbidden segment (`__proto__`, `prototype`,
 * `constructor`), and a `RangeError` when it is deeper than `maxDepth`.
 */
export function parsePath(path: unknown, maxDepth: number = DEFAULT_MAX_DEPTH): Segments {
  let segments: Segments;
  if (typeof path === 'string') {
    segments = parseString(path);
  } else if (Array.isArray(path)) {
    if (path.length === 0) throw invalidPath(path, 'it has no segments');
    for (let i = 0; i < path.length; i++) checkSegment(path, path[i], i);
    segments = Object.isFrozen(path) ? (path as Segments) : Object.freeze(path.slice());
  } else {
    throw invalidPath(path, 'expected a dotted string or an array of strings');
  }
  checkDepth(path, segments.length, maxDepth);
  return segments;
}

/**
 * Validates an array the caller owns outright (fresh from JSON.parse) and freezes it in place
 * instead of copying it: the decoders' path, one allocation fewer per received op.
 * `allowEmpty` takes `[]` (a path relative to a node, that node itself).
 */
export function adoptPath(path: unknown, maxDepth: number = DEFAULT_MAX_DEPTH, allowEmpty = false): Segments {
  if (!Array.isArray(path)) throw invalidPath(path, 'expected an array of strings');
  if (path.length === 0 && !allowEmpty) throw invalidPath(path, 'it has no segments');
  for (let i = 0; i < path.length; i++) checkSegment(path, path[i], i);
  checkDepth(path, path.length, maxDepth);
  return Object.freeze(path) as Segments;
}

/**
 * `adoptPath`, returning `previous` instead when `path` holds the same segments: a batch of
 * writes often repeats one hot path, and comparing a few strings is cheaper than checking and
 * freezing the array again.
 */
export function adoptPathLike(previous: Segments | undefined, path: unknown, maxDepth: number = DEFAULT_MAX_DEPTH): Segments {
  if (previous !== undefined && Array.isArray(path) && path.length === previous.length) {
    let same = true;
    for (let i = 0; i < path.length && same; i++) same = path[i] === previous[i];
    if (same) return previous;
  }
  return adoptPath(path, maxDepth);
}

/** Renders segments back to a readable dotted path (for messages and change events). */
export function formatPath(segments: Segments): string {
  return segments.join('.');
}

// The empty path: one shared array (a path relative to itself, kept per expiring key in its
// armed entry, would otherwise be an empty array each).
const EMPTY_PATH: Segments = Object.freeze([]) as unknown as Segments;

/** The part of `path` below its first `depth` segments (one shared empty array for none). */
export function pathBelow(path: Segments, depth: number): Segments {
  return path.length === depth ? EMPTY_PATH : path.slice(depth);
}

/** Whether two paths are the same. */
export function samePath(a: Segments, b: Segments): boolean {
  return a.length === b.length && isPrefixOf(a, b);
}

/** Whether `relative` is the rest of `path` from `depth` on (`path` cut there, without a copy). */
export function isPathAt(relative: Segments, path: Segments, depth: number): boolean {
  if (relative.length !== path.length - depth) return false;
  for (let i = 0; i < relative.length; i++) if (relative[i] !== path[depth + i]) return false;
  return true;
}

/** Whether `prefix` equals `path` or is an ancestor of it. */
export function isPrefixOf(prefix: Segments, path: Segments): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}
