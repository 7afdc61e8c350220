/**
 * The specification, executably and deliberately naively: sort every operation by stamp and
 * replay them one by one on a plain object. Shares no code with lib/core on purpose: it is
 * what the replicated tree is checked against.
 */

export interface OracleStamp {
  readonly wall: number;
  readonly count: number;
  readonly node: string;
}

export interface OracleOp {
  readonly kind: 'set' | 'delete' | 'incr' | 'append';
  readonly path: readonly string[];
  readonly value?: unknown;
  readonly stamp: OracleStamp;
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

/** The state a replica must hold after receiving exactly `ops` (duplicates are ignored). */
export function oracleState(ops: Iterable<OracleOp>): Tree {
  const unique = new Map<string, OracleOp>();
  for (const op of ops) unique.set(`${op.stamp.node}/${op.stamp.wall}/${op.stamp.count}`, op);
  const root: Tree = {};
  for (const op of [...unique.values()].sort(byStamp)) {
    let parent = root;
    for (const key of op.path.slice(0, -1)) {
      if (!isObject(parent[key])) parent[key] = {};
      parent = parent[key] as Tree;
    }
    const key = op.path[op.path.length - 1]!;
    const current = parent[key];
    switch (op.kind) {
      case 'set':
        parent[key] = structuredClone(op.value);
        break;
      case 'delete':
        delete parent[key];
        break;
      case 'incr':
        parent[key] = (typeof current === 'number' ? current : 0) + (op.value as number);
        break;
      case 'append':
        parent[key] = Array.isArray(current) ? [...current, structuredClone(op.value)] : [structuredClone(op.value)];
        break;
    }
  }
  return root;
}
