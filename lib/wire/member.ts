/**
 * The protocol between a hub and its members (cluster workers, threads), over any link:
 *
 *   member                                   hub
 *     hello { v, p?, th? }            ------->
 *                                     <-------    snapshot { tree, at, you, w, limits }
 *     write [i, intent...]            ------->        (stamps, applies, in its one order)
 *                                     <-------    stream { n, s: [item | intent id...], a?, r? }
 *     durable { d }                   ------->        (once every write before it is on disk)
 *     serves { m: [served...] }       ------->        (a worker's own members: its threads)
 *                                     <-------    durable { d, e? }
 *
 * The hub streams every applied write to every member in one order (a write that came late
 * from a peer hub as the value it left, `r: 1`: see WireItem). A member's own plain writes
 * (set, delete, incr, append without expiry options) come back to it as their intent id alone,
 * a number in place of the item (or `[id, w]` where the item would carry its time `w`): it holds
 * the write itself, pending, and applies it there. Numbers are implied to
 * keep messages small: the intents of a write message (an array: the first intent's id, then
 * the intents) have ids `i, i+1, ...`, and the items of
 * a stream message have positions `n, n+1, ...`. An item's origin `o` is omitted when it is the
 * hub itself. `a` lists, per member, the last of its intents applied so far: the hub applies a
 * member's intents in order, so that acknowledges all of them up to there (read `a` after the
 * items of its message). A cas acknowledged without a failure reply succeeded. A cas that fails, or an intent the hub refused, is answered in `r`, to the
 * writer only. Members validate writes with the hub's `limits`, so a refusal means a broken
 * member (it drops the link). Items numbered at or below the snapshot's `at` are already in the snapshot, and
 * so are the member's intents up to `w` (acknowledged by the snapshot itself). Plain writes,
 * the bulk both ways, travel as arrays (wire/plain-write.ts): intents, and items that carry
 * nothing but the write itself. A write message whose intents are all plain, applied as sent,
 * streams on to the other members as its own text (see intentsText): the hub does not encode
 * again what a member encoded.
 */
import { decodeExpireAt } from '../core/codec.js';
import type { OpKind } from '../core/op.js';
import { adoptPathLike, type Segments } from '../core/path.js';
import { adoptValue, toStoredValue, type JsonValue } from '../core/value.js';
import { checkTtl, writeExpiry, type WriteExpiry } from '../core/write-options.js';
import { decodeArmed } from './armed.js';
import { isCount, isRecord } from './checks.js';
import { plainCode, plainKind, plainPath, plainValue, plainWrite, wirePath, type PlainWrite } from './plain-write.js';
import { decodeServed, type ServedMember } from './served.js';

export type { ServedMember } from './served.js';

/** Version of this protocol; a peer speaking another is refused. */
export const MEMBER_PROTOCOL_VERSION = 4;

/**
 * A write as a member sends it: not yet stamped, so not yet ordered. Its id is implied. `t` is
 * a ttl (ms) and `q: 1` keepTtl; a `ttl` intent's `v` is the ttl (ms), or null to clear it.
 */
export interface WireIntent {
  k: OpKind | 'cas';
  p: string[];
  v?: JsonValue;
  e?: JsonValue;
  t?: number;
  q?: 1;
}

/**
 * An applied write as the hub streams it. Usually the write itself, to apply as the newest.
 * With `r: 1` (restated), a write that came late from a peer hub (stamped before writes the
 * hub already held): the hub placed it among them, and `v` is the whole value now at `p`
 * (absent without `v`); `k` is still the write's kind, for watchers.
 */
export interface WireItem {
  k: OpKind;
  p: string[];
  v?: JsonValue;
  /** The origin, when it is not the hub itself. */
  o?: string;
  r?: 1;
  /** When the write was made (ms), while anything is armed: what is due by then fired before it. */
  w?: number;
  /** Its expiry time (ms), armed by a set, or by an incr or append where none is. */
  x?: number;
  /** A set that keeps the expiry armed. */
  q?: 1;
  /** Restated: the expiries armed at or below `p`, [relative path, time] (none when absent). */
  m?: [string[], number][];
  /** Restated with nothing at `p`: its parents are objects (a delete below made them so). */
  c?: 1;
}

/** Per member: [member number, its last intent applied]. */
export type WireAcks = [member: number, intent: number][];

/**
 * A decoded item: its position in the stream and its origin filled in; `i`, for a member's own
 * write streamed back as its intent id, that id.
 */
export interface StreamItem extends WireItem {
  n: number;
  o: string;
  i?: number;
}

/** An answer to one member only: a failed cas (`ok: false`) or a refused intent (`error`). */
export interface WireReply {
  i: number;
  ok: boolean;
  error?: string;
}

/**
 * Who a member is, told in its hello for the hub's stats and dashboard: its process id and,
 * for a thread, its thread id. Both are optional on the wire (nothing depends on them).
 */
export interface MemberIdentity {
  pid?: number;
  thread?: number;
}

/** A message from a member to its hub (a write as decoded from its array: see writeMessage). */
export type MemberMessage =
  | { t: 'hello'; v: number; p?: number; th?: number }
  | { t: 'write'; i: number; w: (WireIntent | PlainWrite)[] }
  | { t: 'durable'; d: number }
  | { t: 'serves'; m: ServedMember[] };

/** The codes a `durable` answer may carry (`e`): why the writes are not on disk. */
const DURABLE_ERRORS: ReadonlySet<unknown> = new Set(['ERR_COLLECTIVE_NOT_PERSISTENT', 'ERR_COLLECTIVE_PERSIST_IO', 'ERR_COLLECTIVE_CLOSED']);

/** The answer to a `durable` request: `e` the code of the failure, if it failed. */
export interface DurableAnswer {
  t: 'durable';
  d: number;
  e?: 'ERR_COLLECTIVE_NOT_PERSISTENT' | 'ERR_COLLECTIVE_PERSIST_IO' | 'ERR_COLLECTIVE_CLOSED';
}

/** The answer to durable request `request`: done, or failed with `error` (its code, if known). */
export function durableAnswer(request: number, error?: unknown): DurableAnswer {
  if (error === undefined) return { t: 'durable', d: request };
  const code = (error as { code?: unknown } | null)?.code;
  return { t: 'durable', d: request, e: DURABLE_ERRORS.has(code) ? (code as NonNullable<DurableAnswer['e']>) : 'ERR_COLLECTIVE_PERSIST_IO' };
}

/** A message from a hub to a member. */
export type HubMessage =
  | { t: 'snapshot'; v: number; hub: string; you: number; at: number; w: number; limits: MemberLimits; tree: JsonValue; x?: [string[], number][] }
  | { t: 'stream'; n: number; s: (WireItem | PlainWrite | OwnEntry)[]; a?: WireAcks; r?: WireReply[]; h?: number }
  | DurableAnswer;

/**
 * A member's own write in its stream: its intent id, or `[id, w]` with the time the write was
 * made (ms), sent while anything may be armed (see WireItem.w).
 */
export type OwnEntry = number | [intent: number, time: number];

/**
 * Whether the hub may stream `intent`'s write back to its writer as the intent id alone: a
 * write that the hub applies exactly as sent (not a cas or ttl, which the hub decides, and no
 * expiry option, whose time the hub sets).
 */
export function isPlainIntent(intent: { readonly kind: OpKind | 'cas'; readonly expiry?: unknown }): boolean {
  return plainCode(intent.kind) !== undefined && intent.expiry === undefined;
}

/** A hub message as the member uses it: stream items numbered, origins filled in. */
export type DecodedHubMessage =
  | Extract<HubMessage, { t: 'snapshot' }>
  | DurableAnswer
  | { t: 'stream'; n: number; s: (StreamItem | OwnEntry)[]; a?: WireAcks; r?: WireReply[]; h?: number };

/** Limits applied while decoding. */
export interface MemberLimits {
  maxDepth: number;
  maxValueBytes: number;
}

const KINDS: ReadonlySet<string> = new Set(['set', 'delete', 'incr', 'append', 'ttl', 'cas']);
const ITEM_KINDS: ReadonlySet<string> = new Set(['set', 'delete', 'incr', 'append', 'ttl']);

/** A validated intent: path checked, values copied and frozen, expiry checked. */
export interface Intent {
  id: number;
  kind: OpKind | 'cas';
  path: Segments;
  value?: JsonValue;
  expected?: JsonValue;
  expiry?: WriteExpiry;
  /**
   * The intent as it came, when a plain write (checked: its value is `value`, adopted in place):
   * what the hub streams on to the other members as it is.
   */
  plain?: PlainWrite;
}

/**
 * A write's intent as a member sends it (see WireIntent; a plain write as a PlainWrite).
 * `dotted`: the path as a string, when the writer gave it so (see PlainWrite).
 */
export function encodeIntent(kind: OpKind | 'cas', path: Segments, value: JsonValue | undefined, expected?: JsonValue, expiry?: WriteExpiry, dotted?: string): WireIntent | PlainWrite {
  const code = plainCode(kind);
  if (code !== undefined && expiry === undefined) return plainWrite(code, dotted ?? wirePath(path), value);
  const intent: WireIntent = { k: kind, p: path as string[] };
  if (value !== undefined) intent.v = value;
  if (expected !== undefined) intent.e = expected;
  if (expiry?.ttl !== undefined) intent.t = expiry.ttl;
  else if (expiry?.keepTtl === true) intent.q = 1;
  return intent;
}

/** A write message (see MemberMessage): the intents, the first of them numbered `first`. */
export function writeMessage(first: number, intents: readonly (WireIntent | PlainWrite)[]): unknown[] {
  const message: unknown[] = [first];
  for (const intent of intents) message.push(intent);
  return message;
}

/**
 * The text of a write message's intents, as they would stand in a stream message's items, cut
 * from `text`, the whole message's JSON text as it arrived (JSON.parse took it as the message
 * `[first, intent...]`): or undefined where the text is not in the form this cut relies on.
 * The text is one JSON array, so once its opening bracket, the first id as digits and the
 * comma after them are cut off, and its closing bracket, what remains is exactly its other
 * elements' texts, comma-separated: a receiver parses them to the very values the hub parsed.
 */
export function intentsText(text: string, first: number): string | undefined {
  const comma = text.indexOf(',');
  if (comma === -1 || text.charCodeAt(0) !== OPEN_BRACKET || text.charCodeAt(text.length - 1) !== CLOSE_BRACKET) return undefined;
  return text.slice(1, comma) === String(first) ? text.slice(comma + 1, -1) : undefined;
}

const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** A member's hello, saying who it is. */
export function helloMessage(self: MemberIdentity): MemberMessage {
  const hello: MemberMessage = { t: 'hello', v: MEMBER_PROTOCOL_VERSION };
  if (self.pid !== undefined) hello.p = self.pid;
  if (self.thread !== undefined) hello.th = self.thread;
  return hello;
}

/** Decodes a member-to-hub message; throws a TypeError naming what is wrong. */
export function decodeMemberMessage(input: unknown): MemberMessage {
  if (Array.isArray(input)) {
    // A write: [first intent id, intent...].
    if (!isCount(input[0], 1)) throw new TypeError('malformed write');
    return { t: 'write', i: input[0], w: input.slice(1) as (WireIntent | PlainWrite)[] };
  }
  if (!isRecord(input)) throw new TypeError('message is not an object');
  if (input.t === 'hello') {
    if (input.v !== MEMBER_PROTOCOL_VERSION) throw new TypeError(`unsupported protocol version ${String(input.v)}`);
    if ((input.p !== undefined && !isCount(input.p)) || (input.th !== undefined && !isCount(input.th))) throw new TypeError('malformed hello');
    const hello: MemberMessage = { t: 'hello', v: input.v };
    if (input.p !== undefined) hello.p = input.p;
    if (input.th !== undefined) hello.th = input.th;
    return hello;
  }
  if (input.t === 'durable') {
    if (!isCount(input.d, 1)) throw new TypeError('malformed durable request');
    return { t: 'durable', d: input.d };
  }
  if (input.t === 'serves') return { t: 'serves', m: decodeServed(input.m) };
  throw new TypeError(`unknown message type ${JSON.stringify(String(input.t)).slice(0, 40)}`);
}

/**
 * Validates one intent (whose id is `id`); throws a TypeError/RangeError when it is bad.
 * `previousPath`, the path of the intent before it, is reused when the path is the same.
 */
export function decodeIntent(input: unknown, id: number, limits: MemberLimits, previousPath?: Segments): Intent {
  if (Array.isArray(input)) {
    const kind = plainKind(input, 'intent');
    const path = plainPath(input, limits.maxDepth, previousPath);
    const value = plainValue(kind, input, path, 'intent', limits.maxValueBytes);
    const plain = input as PlainWrite;
    return kind === 'delete' ? { id, kind, path, plain } : { id, kind, path, value: value!, plain };
  }
  if (!isRecord(input)) throw new TypeError('malformed intent');
  const kind = input.k;
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw new TypeError('unknown intent kind');
  const path = adoptPathLike(previousPath, input.p, limits.maxDepth);
  const intent: Intent = { id, kind: kind as Intent['kind'], path };
  if (input.t !== undefined || input.q !== undefined) {
    if (kind === 'delete' || kind === 'ttl') throw new TypeError(`${kind} of \`${path.join('.')}\` with expiry options`);
    if (input.q !== undefined && input.q !== 1) throw new TypeError('malformed keepTtl flag');
    intent.expiry = writeExpiry(input.q === 1 ? { keepTtl: true, ttl: input.t } : { ttl: input.t }, path, kind === 'set' || kind === 'cas');
  }
  if (kind === 'incr') {
    if (typeof input.v !== 'number' || !Number.isFinite(input.v)) throw new TypeError(`incr of \`${path.join('.')}\` by a non-number`);
    intent.value = input.v;
  } else if (kind === 'ttl') {
    intent.value = input.v === null ? null : checkTtl(input.v, path);
  } else if (kind !== 'delete') {
    // Fresh from the link (see LinkEvents): checked and frozen in place, not copied.
    intent.value = adoptValue(input.v, path, limits.maxValueBytes);
    if (kind === 'cas') intent.expected = input.e === undefined ? null : adoptValue(input.e, path, limits.maxValueBytes);
  }
  return intent;
}

/** Decodes a hub-to-member message (the member trusts its hub's values, not its shapes). */
export function decodeHubMessage(input: unknown, limits: MemberLimits, hub: string): DecodedHubMessage {
  if (!isRecord(input)) throw new TypeError('message is not an object');
  if (input.t === 'durable') {
    if (!isCount(input.d, 1) || (input.e !== undefined && !DURABLE_ERRORS.has(input.e as string))) throw new TypeError('malformed durable answer');
    return input.e === undefined ? { t: 'durable', d: input.d } : { t: 'durable', d: input.d, e: input.e as NonNullable<DurableAnswer['e']> };
  }
  if (input.t === 'snapshot') {
    if (input.v !== MEMBER_PROTOCOL_VERSION) throw new TypeError(`unsupported protocol version ${String(input.v)}`);
    if (!isCount(input.you, 1) || !isCount(input.at) || !isCount(input.w) || typeof input.hub !== 'string') {
      throw new TypeError('malformed snapshot');
    }
    const limits = input.limits;
    if (!isRecord(limits) || !isCount(limits.maxDepth, 1) || !isCount(limits.maxValueBytes, 1)) throw new TypeError('malformed snapshot limits');
    // Copied, not adopted: objects JSON.parse made are ~30% slower to read keys from than
    // objects built key by key (measured on V8 11, Node 20), and a member reads its snapshot
    // for its whole life.
    const tree = toStoredValue(input.tree, '(snapshot)', Infinity);
    const snapshot: DecodedHubMessage = {
      t: 'snapshot',
      v: input.v,
      hub: input.hub,
      you: input.you,
      at: input.at,
      w: input.w,
      limits: { maxDepth: limits.maxDepth, maxValueBytes: limits.maxValueBytes },
      tree,
    };
    if (input.x !== undefined) snapshot.x = decodeArmed(input.x, limits.maxDepth, false);
    return snapshot;
  }
  if (input.t === 'stream') {
    if (!Array.isArray(input.s) || !isCount(input.n, 1)) throw new TypeError('malformed stream');
    const first = input.n;
    let previous: Segments | undefined;
    let lastOwn = 0;
    const items = input.s.map((item, index) => {
      if (Array.isArray(item) && item.length > 2) {
        // A plain write (see PlainWrite), as the item object the member applies.
        const kind = plainKind(item, 'item');
        const path = plainPath(item, limits.maxDepth, previous);
        const value = plainValue(kind, item, path, 'item', Infinity);
        const origin = item.length === 4 ? (item[3] as string) : hub;
        previous = path;
        return kind === 'delete' ? { k: kind, p: path as string[], n: first + index, o: origin } : { k: kind, p: path as string[], v: value!, n: first + index, o: origin };
      }
      if (typeof item === 'number' || Array.isArray(item)) {
        // One of the member's own writes, by intent id (in the order the hub applied them).
        const id: unknown = typeof item === 'number' ? item : item[0];
        if (!isCount(id, lastOwn + 1) || (Array.isArray(item) && item.length !== 2)) throw new TypeError('malformed own write in the stream');
        if (Array.isArray(item)) decodeExpireAt(item[1]);
        lastOwn = id;
        return item as OwnEntry;
      }
      const decoded = decodeItem(item, first + index, hub, limits, previous);
      previous = decoded.p as Segments;
      return decoded;
    });
    const message: DecodedHubMessage = { t: 'stream', n: first, s: items };
    if (input.h !== undefined) message.h = decodeExpireAt(input.h);
    if (input.a !== undefined) {
      if (!Array.isArray(input.a)) throw new TypeError('malformed acknowledgements');
      for (const ack of input.a) if (!Array.isArray(ack) || !isCount(ack[0], 0) || !isCount(ack[1], 0)) throw new TypeError('malformed acknowledgement');
      message.a = input.a as WireAcks;
    }
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

// Validates an item in place (it is fresh from JSON.parse and nobody else holds it).
function decodeItem(input: unknown, position: number, hub: string, limits: MemberLimits, previousPath: Segments | undefined): StreamItem {
  if (!isRecord(input) || (input.o !== undefined && typeof input.o !== 'string')) throw new TypeError('malformed item');
  const kind = input.k;
  if (typeof kind !== 'string' || !ITEM_KINDS.has(kind)) throw new TypeError('unknown item kind');
  const path = adoptPathLike(previousPath, input.p, limits.maxDepth);
  input.p = path;
  if (input.w !== undefined) decodeExpireAt(input.w);
  if (input.r !== undefined) {
    if (input.r !== 1) throw new TypeError('malformed restated flag');
    if (input.v !== undefined) input.v = adoptValue(input.v, path, Infinity);
    if (input.m !== undefined) input.m = decodeArmed(input.m, limits.maxDepth - path.length, true);
    if (input.c !== undefined && (input.c !== 1 || input.v !== undefined)) throw new TypeError('malformed restated parents flag');
  } else if (kind === 'incr') {
    if (typeof input.v !== 'number' || !Number.isFinite(input.v)) throw new TypeError('incr item by a non-number');
  } else if (kind === 'delete') {
    if (input.v !== undefined) throw new TypeError('delete item with a value');
  } else if (kind === 'ttl') {
    if (input.v !== null) decodeExpireAt(input.v);
  } else input.v = adoptValue(input.v, path, Infinity);
  if (input.r === undefined && (input.x !== undefined || input.q !== undefined)) {
    if (kind === 'delete' || kind === 'ttl' || (input.q !== undefined && (input.q !== 1 || kind !== 'set' || input.x !== undefined))) throw new TypeError('malformed item expiry');
    if (input.x !== undefined) decodeExpireAt(input.x);
  }
  const item = input as unknown as StreamItem;
  item.n = position;
  item.o ??= hub;
  return item;
}
