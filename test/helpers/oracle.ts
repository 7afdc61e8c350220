/**
 * The specification, executably and deliberately naively: sort every operation by stamp and
 * replay them one by one on a plain object, where, before each operation and finally at
 * `now` (never before the latest operation), every armed expiry whose time has come deletes
 * its subtree. Shares no code with
 * lib/core on purpose: it is what the replicated tree is checked against.
 */

export interface OracleStamp {
  readonly wall: number;
  readonly count: number;
  readonly node: string;
}

export interface OracleOp {
  readonly kind: 'set' | 'delete' | 'incr' | 'append' | 'ttl';
  readonly path: readonly string[];
  readonly value?: unknown;
  readonly stamp: OracleStamp;
  /** set: arm the expiry at this time; incr/append: arm it only if none is armed there. */
  readonly expireAt?: number;
  /** set: keep the expiry armed at the path. */
  readonly keepTtl?: true;
}

type Tree = Record<string, unknown>;

function byStamp(a: OracleOp, b: OracleOp): number {
  if (a.stamp.wall !== b.stamp.wall) return a.stamp.wall - b.stamp.wall;
  if (a.stamp.count !== b.stamp.count) return a.stamp.count - b.stamp.count;
  return a.stamp.node < b.stamp.node ? -1 : a.stamp.node > b.stamp.node ? 1 : 0;
}

function isObject(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The replayed state: the tree, and the expiries armed, by path. */
export interface OracleReplay {
  tree: Tree;
  /** Armed expiries: the path joined with NUL, to its path and time. */
  armed: Map<string, { path: readonly string[]; at: number }>;
}

const keyOf = (path: readonly string[]): string => path.join('\u0000');
const isUnder = (path: readonly string[], prefix: readonly string[]): boolean => prefix.length <= path.length && prefix.every((key, i) => path[i] === key);

// The value at `path`, or undefined (never creating anything).
function lookup(root: Tree, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

// Every expiry due at or before `time` deletes its subtree, earliest first.
function fire(state: OracleReplay, time: number): void {
  for (;;) {
    let due: { path: readonly string[]; at: number } | undefined;
    for (const entry of state.armed.values()) if (entry.at <= time && (due === undefined || entry.at < due.at)) due = entry;
    if (due === undefined) return;
    const parent = lookup(state.tree, due.path.slice(0, -1));
    if (isObject(parent)) delete parent[due.path[due.path.length - 1]!];
    for (const [key, entry] of state.armed) if (isUnder(entry.path, due.path)) state.armed.delete(key);
  }
}

/**
 * Replays `ops` (duplicates ignored) up to `now`: the tree and what is still armed. A replica
 * reads at its hybrid clock, never behind an op it received: so the final firing is at `now`
 * or at the latest op's time, whichever is later.
 */
export function oracleReplay(ops: Iterable<OracleOp>, now = Number.NEGATIVE_INFINITY): OracleReplay {
  const unique = new Map<string, OracleOp>();
  for (const op of ops) unique.set(`${op.stamp.node}/${op.stamp.wall}/${op.stamp.count}`, op);
  const state: OracleReplay = { tree: {}, armed: new Map() };
  for (const op of [...unique.values()].sort(byStamp)) {
    fire(state, op.stamp.wall);
    const here = keyOf(op.path);
    if (op.kind === 'ttl') {
      // Armed whatever is there: it deletes what is there when it fires.
      state.armed.delete(here);
      if (typeof op.value === 'number') state.armed.set(here, { path: op.path, at: op.value });
      continue;
    }
    let parent = state.tree;
    for (const key of op.path.slice(0, -1)) {
      if (!isObject(parent[key])) parent[key] = {};
      parent = parent[key] as Tree;
    }
    const key = op.path[op.path.length - 1]!;
    const current = parent[key];
    const wasArmed = state.armed.get(here);
    // Whatever this op writes replaces the subtree: expiries armed below it go.
    for (const [other, entry] of state.armed) if (isUnder(entry.path, op.path) && other !== here) state.armed.delete(other);
    switch (op.kind) {
      case 'set':
        parent[key] = structuredClone(op.value);
        state.armed.delete(here);
        if (op.expireAt !== undefined) state.armed.set(here, { path: op.path, at: op.expireAt });
        else if (op.keepTtl === true && wasArmed !== undefined) state.armed.set(here, wasArmed);
        break;
      case 'delete':
        delete parent[key];
        state.armed.delete(here);
        break;
      case 'incr':
        parent[key] = (typeof current === 'number' ? current : 0) + (op.value as number);
        if (op.expireAt !== undefined && wasArmed === undefined) state.armed.set(here, { path: op.path, at: op.expireAt });
        break;
      case 'append':
        parent[key] = Array.isArray(current) ? [...current, structuredClone(op.value)] : [structuredClone(op.value)];
        if (op.expireAt !== undefined && wasArmed === undefined) state.armed.set(here, { path: op.path, at: op.expireAt });
        break;
    }
  }
  let latest = now;
  for (const op of unique.values()) latest = Math.max(latest, op.stamp.wall);
  fire(state, latest);
  return state;
}

/** The state a replica must hold after receiving exactly `ops`, read at `now`. */
export function oracleState(ops: Iterable<OracleOp>, now = Number.NEGATIVE_INFINITY): Tree {
  return oracleReplay(ops, now).tree;
}
