/**
 * The protocol between a hub and its members (cluster workers, threads), over any link:
 *
 *   member                                   hub
 *     hello { v }                ------->
 *                                <-------    snapshot { tree, at, you, w }
 *     write { w: [intent...] }   ------->        (stamps, applies, in its one order)
 *                                <-------    stream { s: [item...], r?: [reply...] }
 *
 * The hub streams every applied write to every member in one order, numbered by `n`; the
 * writer recognises its own by `m` (its member number) and `i` (its intent id): that is its
 * acknowledgement. A cas that fails, or an intent the hub refused, is answered in `r`, to the
 * writer only. Items numbered at or below the snapshot's `at` are already in the snapshot, and
 * so are the member's intents up to `w` (acknowledged by the snapshot itself).
 */
import type { OpKind } from '../core/op.js';
import { parsePath, type Segments } from '../core/path.js';
import { toStoredValue, type JsonValue } from '../core/value.js';

/** Version of this protocol; a peer speaking another is refused. */
export const MEMBER_PROTOCOL_VERSION = 1;

/** A write as a member sends it: not yet stamped, so not yet ordered. */
export interface WireIntent {
  i: number;
  k: OpKind | 'cas';
  p: string[];
  v?: JsonValue;
  e?: JsonValue;
}

/** An applied write as the hub streams it. `m`/`i` name the member write it acknowledges. */
export interface WireItem {
  n: number;
  k: OpKind;
  p: string[];
  v?: JsonValue;
  o: string;
  m?: number;
  i?: number;
}

/** An answer to one member only: a failed cas (`ok: false`) or a refused intent (`error`). */
export interface WireReply {
  i: number;
  ok: boolean;
  error?: string;
}

export type MemberMessage =
  | { t: 'hello'; v: number }
  | { t: 'write'; w: WireIntent[] };

export type HubMessage =
  | { t: 'snapshot'; v: number; hub: string; you: number; at: number; w: number; tree: JsonValue }
  | { t: 'stream'; s: WireItem[]; r?: WireReply[] };

/** Limits applied while decoding. */
export interface MemberLimits {
  maxDepth: number;
  maxValueBytes: number;
}

const KINDS: ReadonlySet<string> = new Set(['set', 'delete', 'incr', 'append', 'cas']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown, min = 0): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/** A validated intent: path checked, values copied and frozen. */
export interface Intent {
  id: number;
  kind: OpKind | 'cas';
  path: Segments;
  value?: JsonValue;
  expected?: JsonValue;
}

/** Decodes a member-to-hub message; throws a TypeError naming what is wrong. */
export function decodeMemberMessage(input: unknown): MemberMessage {
  if (!isRecord(input)) throw new TypeError('message is not an object');
  if (input.t === 'hello') {
    if (input.v !== MEMBER_PROTOCOL_VERSION) throw new TypeError(`unsupported protocol version ${String(input.v)}`);
    return { t: 'hello', v: input.v };
  }
  if (input.t === 'write') {
    if (!Array.isArray(input.w)) throw new TypeError('write without intents');
    return { t: 'write', w: input.w as WireIntent[] };
  }
  throw new TypeError(`unknown message type ${JSON.stringify(String(input.t)).slice(0, 40)}`);
}

/** Validates one intent of a write message; throws a TypeError/RangeError when it is bad. */
export function decodeIntent(input: unknown, limits: MemberLimits): Intent {
  if (!isRecord(input) || !isCount(input.i, 1)) throw new TypeError('malformed intent');
  const kind = input.k;
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw new TypeError('unknown intent kind');
  if (!Array.isArray(input.p)) throw new TypeError('intent path is not an array');
  const path = parsePath(input.p, limits.maxDepth);
  const intent: Intent = { id: input.i, kind: kind as Intent['kind'], path };
  const where = path.join('.');
  if (kind === 'incr') {
    if (typeof input.v !== 'number' || !Number.isFinite(input.v)) throw new TypeError(`incr of \`${where}\` by a non-number`);
    intent.value = input.v;
  } else if (kind !== 'delete') {
    intent.value = toStoredValue(input.v, where, limits.maxValueBytes);
    if (kind === 'cas') intent.expected = input.e === undefined ? null : toStoredValue(input.e, where, limits.maxValueBytes);
  }
  return intent;
}

/** Decodes a hub-to-member message (the member trusts its hub's values, not its shapes). */
export function decodeHubMessage(input: unknown, limits: MemberLimits): HubMessage {
  if (!isRecord(input)) throw new TypeError('message is not an object');
  if (input.t === 'snapshot') {
    if (input.v !== MEMBER_PROTOCOL_VERSION) throw new TypeError(`unsupported protocol version ${String(input.v)}`);
    if (!isCount(input.you, 1) || !isCount(input.at) || !isCount(input.w) || typeof input.hub !== 'string') {
      throw new TypeError('malformed snapshot');
    }
    const tree = toStoredValue(input.tree, '(snapshot)', Infinity);
    return { t: 'snapshot', v: input.v, hub: input.hub, you: input.you, at: input.at, w: input.w, tree };
  }
  if (input.t === 'stream') {
    if (!Array.isArray(input.s)) throw new TypeError('stream without items');
    const items: WireItem[] = input.s.map((item) => decodeItem(item, limits));
    const message: HubMessage = { t: 'stream', s: items };
    if (input.r !== undefined) {
      if (!Array.isArray(input.r)) throw new TypeError('malformed replies');
      message.r = input.r.map((reply) => {
        if (!isRecord(reply) || !isCount(reply.i, 1) || typeof reply.ok !== 'boolean') throw new TypeError('malformed reply');
        const decoded: WireReply = { i: reply.i, ok: reply.ok };
        if (typeof reply.error === 'string') decoded.error = reply.error;
        return decoded;
      });
    }
    return message;
  }
  throw new TypeError(`unknown message type ${JSON.stringify(String(input.t)).slice(0, 40)}`);
}

function decodeItem(input: unknown, limits: MemberLimits): WireItem {
  if (!isRecord(input) || !isCount(input.n, 1) || typeof input.o !== 'string') throw new TypeError('malformed item');
  const kind = input.k;
  if (kind !== 'set' && kind !== 'delete' && kind !== 'incr' && kind !== 'append') throw new TypeError('unknown item kind');
  const path = parsePath(input.p, limits.maxDepth) as string[];
  const item: WireItem = { n: input.n, k: kind, p: path, o: input.o };
  if (kind === 'incr') {
    if (typeof input.v !== 'number' || !Number.isFinite(input.v)) throw new TypeError('incr item by a non-number');
    item.v = input.v;
  } else if (kind !== 'delete') item.v = toStoredValue(input.v, path.join('.'), Infinity);
  if (input.m !== undefined) {
    if (!isCount(input.m, 0) || !isCount(input.i, 1)) throw new TypeError('malformed item acknowledgement');
    item.m = input.m;
    item.i = input.i;
  }
  return item;
}
