/**
 * The hub-to-hub protocol, on frames (wire/frame.ts). On every connection, both ways:
 *
 *   hello { id, w, c, n, a, l? } node id, clock (wall, counter), challenge, whether a secret is
 *                              used, and the port it listens on (so a hub that does not know it
 *                              yet can dial it back: a hub added later joins without restarts)
 *   auth  { proof }            with a secret: the answer to the other side's challenge
 *
 * Then the dialer streams its writes to the acceptor (the seed's one-way connections): the
 * acceptor sends its version vector, the dialer answers with what it lacks, `synced`, and then
 * its live ops. Every frame is checked by a guard here before anything reads it.
 */
import { decodeNodeId } from '../core/codec.js';
import type { NodeId } from '../core/clock.js';

/** What a hub says first. */
export interface Hello {
  readonly id: NodeId;
  readonly wall: number;
  readonly count: number;
  readonly nonce: string;
  readonly authenticates: boolean;
  readonly listenPort?: number | undefined;
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
  return { id, wall: payload.w, count: payload.c, nonce: payload.n, authenticates: payload.a === 1, listenPort: payload.l as number | undefined };
}

/** Checks an auth payload; returns the proof (verified by the caller) or throws. */
export function decodeAuth(payload: unknown): string {
  if (!isRecord(payload) || typeof payload.proof !== 'string') throw new TypeError('auth without a proof');
  return payload.proof;
}
