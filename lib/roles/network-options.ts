import { describe, inputRangeError, inputTypeError } from '../errors.js';
import type { CollectiveOptions, HostAddress } from '../types.js';
import type { MeshOptions } from './peering.js';

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/;

// The numeric options between hubs, with the least each may be: a frame must hold a handshake
// and a useful slice of a split message, a backlog at least a frame.
const MINIMUM = {
  maxClockSkewMs: 0,
  handshakeTimeoutMs: 1,
  heartbeatMs: 1,
  maxFrameBytes: 64 * 1024,
  maxPeerBacklog: 64 * 1024,
  antiEntropyMs: 1,
  reconnectMaxMs: 1,
} as const;

/**
 * Refuses a hub that would accept strangers: one listening on a non-loopback address without
 * a `secret`, unless the caller said `insecure: true` (a private network of its own).
 */
export function checkNetworkOptions(local: HostAddress | undefined, peers: readonly HostAddress[], options: CollectiveOptions): void {
  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret.length === 0)) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected \`secret\` to be a non-empty string, got ${describe(options.secret)}`);
  }
  for (const [name, least] of Object.entries(MINIMUM)) {
    const value = options[name as keyof typeof MINIMUM];
    if (value === undefined) continue;
    const message = `Expected \`${name}\` to be an integer of at least ${least}, got ${describe(value)}`;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', message);
    if (value < least) throw inputRangeError('ERR_COLLECTIVE_INVALID_OPTION', message);
  }
  for (const peer of peers) {
    if (typeof peer !== 'object' || peer === null || !Number.isSafeInteger(peer.port) || peer.port < 1 || peer.port > 65535) {
      throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected every peer to be { host, port }, got ${describe(peer)}`);
    }
  }
  if (local === undefined) return;
  if (!Number.isSafeInteger(local.port) || local.port < 0 || local.port > 65535) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected the listen port to be 0..65535, got ${describe(local.port)}`);
  }
  const host = local.host ?? 'localhost';
  // Either authenticates peers: the shared secret, or mutual TLS (certificates both ways).
  if (!LOOPBACK.test(host) && options.secret === undefined && options.tls === undefined && options.insecure !== true) {
    throw inputTypeError(
      'ERR_COLLECTIVE_INVALID_OPTION',
      `Refusing to listen on ${host} without a \`secret\`: anyone who can reach it could write to the store. ` +
        'Set `secret` (the same on every hub) or `tls`, or `insecure: true` on a network that is yours alone.',
    );
  }
}

/** The mesh settings from a hub's options. */
export function meshOptions(local: HostAddress | undefined, peers: readonly HostAddress[], options: CollectiveOptions): MeshOptions {
  return {
    listen: local,
    peers,
    secret: options.secret,
    maxClockSkewMs: options.maxClockSkewMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    antiEntropyMs: options.antiEntropyMs,
    reconnectMaxMs: options.reconnectMaxMs,
    tls: options.tls,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
    ...(options.maxPeerBacklog === undefined ? {} : { maxBacklogBytes: options.maxPeerBacklog }),
  };
}
