/**
 * The frames of the hub-to-hub protocol (mesh/), each with its encoder and its guard. A frame
 * travels on any link as `{ t: type, p: payload }` (on TCP, wire/frame.ts puts the type in the
 * frame header). Every frame received goes through `decodePeerFrame` before anything reads it:
 * it checks the whole frame, ops included, and throws a ProtocolError naming what is wrong.
 *
 *   hello    { id, w, c, n, a, l?, g?, k? }  node id, physical clock (wall, counter), challenge,
 *                                           whether a secret is used, the port it listens on (to
 *                                           be dialed back), its GC horizon and hybrid clock
 *   auth     { proof }                      with a secret: the answer to the other's challenge
 *   vector   { v, c, m, r, a, h?, f?, s? }  the receiver's version vector and frontier: its clock,
 *                                           the hubs it counts as members, those it knows retired,
 *                                           where members live, ops it holds beyond its vector,
 *                                           the horizon it folded at;
 *                                           `s: 1` when it saw something lost (resend it all)
 *   frontier { v, c, m, r, a, h?, f? }      the same, between anti-entropy rounds (no answer)
 *   members  { m, r, a? }                   the sender's members, retired hubs and places, sent
 *                                           before each delta or snapshot
 *   delta    [id, index, clock, [op...]]    piece `index` of delta `id`: what the receiver lacks
 *   synced   [id, pieces, vector]           the end of delta `id`, sent in `pieces` pieces: the
 *                                           sender's version vector, to be taken only once every
 *                                           piece arrived
 *   snapshot { v: 1, ... }                  the whole state, when the receiver is behind GC
 *   ops      run                            live ops of the sender (core/codec.ts encodeRun)
 *   ping                                    an idle link's heartbeat
 */
import { ProtocolError } from '../errors.js';
import { isCount, isRecord } from './checks.js';
import { decodeBound, decodeNodeId, decodeOp, decodeRun, decodeStamp, decodeVector, encodeOp, encodeRun, encodeVector, type DecodeLimits } from '../core/codec.js';
import type { NodeId, Stamp } from '../core/clock.js';
import type { VersionVector } from '../core/horizon.js';
import type { Op } from '../core/op.js';
import type { ReplicaSnapshot } from '../core/replica-types.js';

/** The types of peer frames. */
export type PeerFrameType = 'hello' | 'auth' | 'vector' | 'frontier' | 'members' | 'delta' | 'synced' | 'snapshot' | 'ops' | 'ping';

/** A peer frame as it travels on a link. */
export interface WirePeerFrame {
  t: PeerFrameType;
  p?: unknown;
}

/** What a hub says first. */
export interface Hello {
  readonly id: NodeId;
  readonly wall: number;
  readonly count: number;
  readonly nonce: string;
  readonly authenticates: boolean;
  readonly listenPort?: number | undefined;
  readonly horizon?: Stamp | undefined;
  /** The hub's hybrid clock: every stamp it issued or saw is at or below it. */
  readonly hybrid?: Stamp | undefined;
  /**
   * Random for each start of the hub: a hub that restarted with its state (the same id) is told
   * from the life before, whose links may not have been seen to close yet.
   */
  readonly incarnation?: string | undefined;
}

/**
 * What a hub knows of its group, for GC (mesh/membership.ts): part of every vector message, and
 * sent on its own (`members`) by the sending end before what the receiver lacks, so that a
 * receiver never holds ops of a hub without what the sender knew of that hub.
 */
export interface GroupMessage {
  /** The hubs it counts as live members of the group. */
  readonly members: readonly NodeId[];
  /** The hubs it knows are gone for good (restarted under another id). */
  readonly retired: readonly NodeId[];
  /** Where members live, as far as it knows: [id, address] (so that any hub can retire one whose address answers with another id). */
  readonly places?: readonly (readonly [NodeId, string])[];
}

/**
 * What the receiving end of a stream sends the sender, first and then every `antiEntropyMs`
 * (`vector`: the sender answers with what it lacks), and between those as `frontier`: its
 * version vector and its frontier for GC.
 */
export interface VectorMessage extends GroupMessage {
  readonly vector: VersionVector;
  /** The receiver's clock: it will never stamp at or below it. */
  readonly clock: Stamp;
  /** Per origin, the highest seq it holds beyond its vector (ops that came ahead of others), if any. */
  readonly held?: Readonly<Record<string, number>> | undefined;
  /** The highest GC horizon it folded at, if any: ops at or below it are late for the group. */
  readonly folded?: Stamp | undefined;
  /**
   * The receiver saw something of this stream lost (a sequence gap, a delta missing pieces):
   * the sender must not count on what it sent being on its way, and sends all it lacks.
   */
  readonly resend?: boolean;
}

/** A received frame, checked whole. */
export type PeerFrame =
  | { readonly t: 'hello'; readonly hello: Hello }
  | { readonly t: 'auth'; readonly proof: string }
  | { readonly t: 'vector' | 'frontier'; readonly message: VectorMessage }
  | { readonly t: 'members'; readonly group: GroupMessage }
  | { readonly t: 'delta'; readonly id: number; readonly index: number; readonly clock: Stamp; readonly ops: Op[] }
  | { readonly t: 'synced'; readonly id: number; readonly pieces: number; readonly vector: VersionVector }
  | { readonly t: 'snapshot'; readonly snapshot: ReplicaSnapshot }
  | { readonly t: 'ops'; readonly ops: Op[] }
  | { readonly t: 'ping' };

/** Most hub ids a frontier may list (members, or retired): a bound on what a peer can make this hub hold. */
export const MAX_GROUP_IDS = 10_000;

function encodeStamp(stamp: Stamp): [number, number, string] {
  return [stamp.wall, stamp.count, stamp.node];
}

// ---- encoders ----

/** The heartbeat of an idle link. */
export const PING_FRAME: WirePeerFrame = Object.freeze({ t: 'ping' }) as WirePeerFrame;

/** A hello frame. */
export function helloFrame(hello: Hello): WirePeerFrame {
  const p: Record<string, unknown> = { id: hello.id, w: hello.wall, c: hello.count, n: hello.nonce, a: hello.authenticates ? 1 : 0 };
  if (hello.listenPort !== undefined) p.l = hello.listenPort;
  if (hello.horizon !== undefined) p.g = encodeStamp(hello.horizon);
  if (hello.hybrid !== undefined) p.k = encodeStamp(hello.hybrid);
  if (hello.incarnation !== undefined) p.i = hello.incarnation;
  return { t: 'hello', p };
}

/** An auth frame: the proof (wire/auth.ts). */
export function authFrame(proof: string): WirePeerFrame {
  return { t: 'auth', p: { proof } };
}

/** A vector frame (`frontier`: the same message, answered by nothing). */
export function vectorFrame(message: VectorMessage, type: 'vector' | 'frontier' = 'vector'): WirePeerFrame {
  const p: Record<string, unknown> = { v: encodeVector(message.vector), c: encodeStamp(message.clock), m: message.members, r: message.retired };
  if (message.places !== undefined && message.places.length > 0) p.a = message.places;
  if (message.held !== undefined) p.h = Object.entries(message.held);
  if (message.folded !== undefined) p.f = encodeStamp(message.folded);
  if (message.resend === true) p.s = 1;
  return { t: type, p };
}

/** What the sending end knows of the group, before what it sends of other hubs' ops. */
export function membersFrame(group: GroupMessage): WirePeerFrame {
  return { t: 'members', p: encodeGroup(group) };
}

/** A group as JSON-able data: a `members` frame's payload, and what a hub keeps of it on disk. */
export function encodeGroup(group: GroupMessage): Record<string, unknown> {
  const p: Record<string, unknown> = { m: group.members, r: group.retired };
  if (group.places !== undefined && group.places.length > 0) p.a = group.places;
  return p;
}

/** Piece `index` of delta `id`: ops, with the sender's clock reading. */
export function deltaFrame(id: number, index: number, clock: Stamp, ops: readonly Op[]): WirePeerFrame {
  return { t: 'delta', p: [id, index, encodeStamp(clock), ops.map(encodeOp)] };
}

/** The end of delta `id`, sent in `pieces` pieces: the sender's version vector. */
export function syncedFrame(id: number, pieces: number, vector: VersionVector): WirePeerFrame {
  return { t: 'synced', p: [id, pieces, encodeVector(vector)] };
}

/** The whole state, for a receiver behind what GC folded. */
export function snapshotFrame(snapshot: ReplicaSnapshot): WirePeerFrame {
  return { t: 'snapshot', p: snapshot };
}

/** Live ops of one origin with consecutive seqs, as a run. */
export function opsFrame(ops: readonly Op[]): WirePeerFrame {
  return { t: 'ops', p: encodeRun(ops) };
}

// ---- guards ----

function decodeHello(p: unknown): Hello {
  if (!isRecord(p)) throw new TypeError('hello is not an object');
  const id = decodeNodeId(p.id);
  if (!isCount(p.w) || !isCount(p.c)) throw new TypeError('hello without a valid clock');
  if (typeof p.n !== 'string' || !/^[0-9a-f]{64}$/.test(p.n)) throw new TypeError('hello without a valid challenge');
  if (p.a !== 0 && p.a !== 1) throw new TypeError('hello without a valid auth flag');
  if (p.l !== undefined && (!isCount(p.l) || p.l < 1 || p.l > 65535)) throw new TypeError('hello with an invalid port');
  const horizon = p.g === undefined ? undefined : decodeBound(p.g, 'hello horizon');
  const hybrid = p.k === undefined ? undefined : decodeBound(p.k, 'hello hybrid clock');
  if (p.i !== undefined && (typeof p.i !== 'string' || !/^[0-9a-f]{16}$/.test(p.i))) throw new TypeError('hello with an invalid incarnation');
  return { id, wall: p.w, count: p.c, nonce: p.n, authenticates: p.a === 1, listenPort: p.l as number | undefined, horizon, hybrid, incarnation: p.i as string | undefined };
}

function decodeIds(value: unknown, what: string): NodeId[] {
  if (!Array.isArray(value) || value.length > MAX_GROUP_IDS) throw new TypeError(`malformed ${what}`);
  return value.map((id) => decodeNodeId(id));
}

function decodeVectorMessage(p: unknown): VectorMessage {
  if (!isRecord(p)) throw new TypeError('vector is not an object');
  if (p.s !== undefined && p.s !== 1) throw new TypeError('malformed vector resend flag');
  const message: VectorMessage = {
    vector: decodeVector(p.v),
    clock: decodeBound(p.c, 'vector clock'),
    members: decodeIds(p.m, 'vector members'),
    retired: decodeIds(p.r, 'vector retired'),
    places: p.a === undefined ? [] : decodePlaces(p.a),
    held: p.h === undefined ? undefined : decodeHeld(p.h),
    folded: p.f === undefined ? undefined : decodeBound(p.f, 'vector fold horizon'),
  };
  return p.s === 1 ? { ...message, resend: true } : message;
}

/** Reads what `encodeGroup` wrote, from an untrusted source: throws a TypeError if malformed. */
export function decodeGroup(p: unknown): GroupMessage {
  if (!isRecord(p)) throw new TypeError('members is not an object');
  return { members: decodeIds(p.m, 'group members'), retired: decodeIds(p.r, 'group retired'), places: p.a === undefined ? [] : decodePlaces(p.a) };
}

function decodeHeld(value: unknown): Record<string, number> {
  if (!Array.isArray(value) || value.length > MAX_GROUP_IDS) throw new TypeError('malformed vector held');
  const held: Record<string, number> = Object.create(null);
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length !== 2 || !isCount(entry[1])) throw new TypeError('malformed vector held entry');
    held[decodeNodeId(entry[0])] = entry[1];
  }
  return held;
}

function decodePlaces(value: unknown): [NodeId, string][] {
  if (!Array.isArray(value) || value.length > MAX_GROUP_IDS) throw new TypeError('malformed vector places');
  return value.map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[1] !== 'string' || entry[1].length === 0 || entry[1].length > 300) throw new TypeError('malformed vector place');
    return [decodeNodeId(entry[0]), entry[1]];
  });
}

function decodeDelta(p: unknown, limits: DecodeLimits): { id: number; index: number; clock: Stamp; ops: Op[] } {
  if (!Array.isArray(p) || p.length !== 4 || !isCount(p[0]) || !isCount(p[1]) || !Array.isArray(p[2]) || !Array.isArray(p[3])) throw new TypeError('malformed delta');
  const [id, index, clock, ops] = p as [number, number, unknown[], unknown[]];
  return { id, index, clock: decodeStamp(clock[0], clock[1], clock[2]), ops: ops.map((op) => decodeOp(op, limits)) };
}

function decodeSynced(p: unknown): { id: number; pieces: number; vector: VersionVector } {
  if (!Array.isArray(p) || p.length !== 3 || !isCount(p[0]) || !isCount(p[1])) throw new TypeError('malformed synced');
  return { id: p[0], pieces: p[1], vector: decodeVector(p[2]) };
}

function decodeSnapshot(p: unknown): ReplicaSnapshot {
  // The whole state is checked by Replica.fromSnapshot before any of it is adopted.
  if (!isRecord(p) || p.v !== 1) throw new TypeError('malformed snapshot');
  return p as unknown as ReplicaSnapshot;
}

/**
 * Checks a received peer frame whole (envelope, type, payload; ops decoded and their values
 * copied and frozen with `limits`) and returns it typed. Throws a ProtocolError
 * (`ERR_COLLECTIVE_PROTOCOL`) naming what is wrong: nothing of a bad frame is ever applied.
 */
export function decodePeerFrame(raw: unknown, limits: DecodeLimits): PeerFrame {
  try {
    if (!isRecord(raw) || typeof raw.t !== 'string') throw new TypeError('a frame without a type');
    const p = raw.p;
    switch (raw.t) {
      case 'hello':
        return { t: 'hello', hello: decodeHello(p) };
      case 'auth':
        if (!isRecord(p) || typeof p.proof !== 'string') throw new TypeError('auth without a proof');
        return { t: 'auth', proof: p.proof };
      case 'vector':
      case 'frontier':
        return { t: raw.t, message: decodeVectorMessage(p) };
      case 'members':
        return { t: 'members', group: decodeGroup(p) };
      case 'delta':
        return { t: 'delta', ...decodeDelta(p, limits) };
      case 'synced':
        return { t: 'synced', ...decodeSynced(p) };
      case 'snapshot':
        return { t: 'snapshot', snapshot: decodeSnapshot(p) };
      case 'ops':
        return { t: 'ops', ops: decodeRun(p, limits) };
      case 'ping':
        return { t: 'ping' };
      default:
        throw new TypeError(`unknown frame type ${JSON.stringify(raw.t).slice(0, 40)}`);
    }
  } catch (error) {
    throw error instanceof ProtocolError ? error : new ProtocolError((error as Error).message);
  }
}
