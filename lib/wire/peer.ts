/**
 * The hub-to-hub protocol, on frames (wire/frame.ts). On every connection, both ways:
 *
 *   hello { id, w, c, n, a, l?, g?, k? }
 *                              node id, physical clock (wall, counter), challenge, whether a
 *                              secret is used, the port it listens on (so a hub that does not
 *                              know it yet can dial it back: a hub added later joins without
 *                              restarts), the GC horizon it folded at and its hybrid clock (the
 *                              other hub stamps its writes after both, and restamps past them
 *                              the writes it made before it ever linked)
 *   auth  { proof }            with a secret: the answer to the other side's challenge
 *
 * Then the dialer streams its writes to the acceptor (the seed's one-way connections): the
 * acceptor sends its version vector, the dialer answers with what it lacks, `synced`, and then
 * its live ops. The acceptor's `vector` also carries its frontier (clock, the hubs it counts
 * as members, those it knows retired): what GC needs from every hub. Every frame is checked by
 * a guard here before anything reads it.
 */
import { decodeBound, decodeNodeId, decodeVector, encodeVector } from '../core/codec.js';
import type { NodeId, Stamp } from '../core/clock.js';
import type { VersionVector } from '../core/horizon.js';

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
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The payload of a hello frame. */
export function encodeHello(hello: Hello): unknown {
  const payload: Record<string, unknown> = { id: hello.id, w: hello.wall, c: hello.count, n: hello.nonce, a: hello.authenticates ? 1 : 0 };
  if (hello.listenPort !== undefined) payload.l = hello.listenPort;
  if (hello.horizon !== undefined) payload.g = encodeStamp(hello.horizon);
  if (hello.hybrid !== undefined) payload.k = encodeStamp(hello.hybrid);
  return payload;
}

/** Checks a hello payload; throws a TypeError naming what is wrong. */
export function decodeHello(payload: unknown): Hello {
  if (!isRecord(payload)) throw new TypeError('hello is not an object');
  const id = decodeNodeId(payload.id);
  if (!isCount(payload.w) || !isCount(payload.c)) throw new TypeError('hello without a valid clock');
  if (typeof payload.n !== 'string' || !/^[0-9a-f]{64}$/.test(payload.n)) throw new TypeError('hello without a valid challenge');
  if (payload.a !== 0 && payload.a !== 1) throw new TypeError('hello without a valid auth flag');
  if (payload.l !== undefined && (!isCount(payload.l) || payload.l < 1 || payload.l > 65535)) throw new TypeError('hello with an invalid port');
  const horizon = payload.g === undefined ? undefined : decodeBound(payload.g, 'hello horizon');
  const hybrid = payload.k === undefined ? undefined : decodeBound(payload.k, 'hello hybrid clock');
  return { id, wall: payload.w, count: payload.c, nonce: payload.n, authenticates: payload.a === 1, listenPort: payload.l as number | undefined, horizon, hybrid };
}

function encodeStamp(stamp: Stamp): [number, number, string] {
  return [stamp.wall, stamp.count, stamp.node];
}

function decodeIds(value: unknown, what: string): NodeId[] {
  if (!Array.isArray(value) || value.length > MAX_GROUP_IDS) throw new TypeError(`malformed ${what}`);
  return value.map((id) => decodeNodeId(id));
}

/** Most hub ids a frontier may list (members, or retired): a bound on what a peer can make this hub hold. */
export const MAX_GROUP_IDS = 10_000;

/**
 * What the acceptor of a stream sends the dialer, first and then every `antiEntropyMs`: its
 * version vector (the dialer answers with what it lacks), and with it its frontier for GC.
 */
export interface VectorMessage {
  readonly vector: VersionVector;
  /** The acceptor's clock: it will never stamp at or below it. */
  readonly clock: Stamp;
  /** The hubs the acceptor counts as live members of the group. */
  readonly members: readonly NodeId[];
  /** The hubs the acceptor knows are gone for good (restarted under another id). */
  readonly retired: readonly NodeId[];
}

/** The payload of a vector frame. */
export function encodeVectorMessage(message: VectorMessage): unknown {
  return { v: encodeVector(message.vector), c: encodeStamp(message.clock), m: message.members, r: message.retired };
}

/** Checks a vector payload; throws a TypeError naming what is wrong. */
export function decodeVectorMessage(payload: unknown): VectorMessage {
  if (!isRecord(payload)) throw new TypeError('vector is not an object');
  return {
    vector: decodeVector(payload.v),
    clock: decodeBound(payload.c, 'vector clock'),
    members: decodeIds(payload.m, 'vector members'),
    retired: decodeIds(payload.r, 'vector retired'),
  };
}

/** Checks an auth payload; returns the proof (verified by the caller) or throws. */
export function decodeAuth(payload: unknown): string {
  if (!isRecord(payload) || typeof payload.proof !== 'string') throw new TypeError('auth without a proof');
  return payload.proof;
}
