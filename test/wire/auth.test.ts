import { describe, expect, it } from 'vitest';
import { newNonce, proofFor, verifyProof } from '../../lib/wire/auth.js';

describe('hub authentication', () => {
  const [nA, nB] = [newNonce(), newNonce()];

  it('accepts the proof of a peer that knows the secret', () => {
    const fromA = proofFor('s3cret', 'A', 'B', nA, nB);
    expect(verifyProof('s3cret', fromA, 'B', 'A', nB, nA)).toBe(true);
  });

  it('refuses a wrong secret', () => {
    expect(verifyProof('s3cret', proofFor('guess', 'A', 'B', nA, nB), 'B', 'A', nB, nA)).toBe(false);
  });

  it('refuses a proof replayed on another connection (other challenge)', () => {
    const old = proofFor('s3cret', 'A', 'B', nA, nB);
    expect(verifyProof('s3cret', old, 'B', 'A', newNonce(), nA)).toBe(false);
  });

  it('refuses a proof reflected back at its sender', () => {
    const fromB = proofFor('s3cret', 'B', 'A', nB, nA);
    expect(verifyProof('s3cret', fromB, 'B', 'A', nB, nA)).toBe(false);
  });

  it.each([undefined, null, 42, '', 'zz', 'a'.repeat(63), 'A'.repeat(64), { proof: 1 }])('refuses %j without throwing', (junk) => {
    expect(verifyProof('s3cret', junk, 'B', 'A', nB, nA)).toBe(false);
  });

  it('makes a fresh challenge every time', () => {
    expect(newNonce()).toMatch(/^[0-9a-f]{64}$/);
    expect(newNonce()).not.toBe(newNonce());
  });
});
