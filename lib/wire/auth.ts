import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Mutual authentication of two hubs that share a secret: a challenge-response run on every
 * connection, in both directions.
 *
 *   A -> B  hello { id: A, nonce: nA }        B -> A  hello { id: B, nonce: nB }
 *   A -> B  auth  { proof: P(A, B) }          B -> A  auth  { proof: P(B, A) }
 *
 * P(X, Y) = HMAC-SHA256(secret, "collective/1 auth" | X's id | Y's id | X's nonce | Y's nonce).
 * Each proof binds both nonces, so it cannot be replayed on another connection, and both ids
 * in a fixed order, so a proof cannot be reflected back at its sender. The secret never
 * travels. Comparison is constant-time.
 */

const LABEL = 'collective/1 auth';

/** A random id of one start of a hub (Hello.incarnation): 8 bytes, hex. */
export function newIncarnation(): string {
  return randomBytes(8).toString('hex');
}

/** A fresh 32-byte challenge, hex. */
export function newNonce(): string {
  return randomBytes(32).toString('hex');
}

/** The proof this side sends: it knows the secret and saw the other side's challenge. */
export function proofFor(secret: string, ownId: string, peerId: string, ownNonce: string, peerNonce: string): string {
  return createHmac('sha256', secret).update(`${LABEL}|${ownId}|${peerId}|${ownNonce}|${peerNonce}`).digest('hex');
}

/** Whether `received` is the proof the other side should have sent. Never throws. */
export function verifyProof(
  secret: string,
  received: unknown,
  ownId: string,
  peerId: string,
  ownNonce: string,
  peerNonce: string,
): boolean {
  if (typeof received !== 'string' || !/^[0-9a-f]{64}$/.test(received)) return false;
  const expected = Buffer.from(proofFor(secret, peerId, ownId, peerNonce, ownNonce), 'hex');
  return timingSafeEqual(expected, Buffer.from(received, 'hex'));
}
