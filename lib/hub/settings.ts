import type * as tls from 'node:tls';
import { DEFAULTS } from '../defaults.js';
import { describe, inputRangeError, inputTypeError } from '../errors.js';
import type { NodeId } from '../core/clock.js';
import type { HostAddress } from '../mesh/types.js';
import type { CollectiveOptions, DashboardOptions, PersistOptions, RedisOptions } from '../types.js';
import { GROUP_PATTERN } from '../wire/redis.js';
import type { RedisGroupSettings } from '../mesh/redis/connect.js';
import type { PersistSettings } from './persist/persistence.js';
import type { DashboardSettings } from '../dashboard/settings.js';

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\])$/;

// The numeric options, with the least each may be: a frame must hold a handshake and a useful
// slice of a split message, a backlog at least a frame.
const MINIMUM = {
  maxDepth: 1,
  maxValueBytes: 1,
  maxClockSkewMs: 0,
  handshakeTimeoutMs: 1,
  heartbeatMs: 1,
  maxFrameBytes: 64 * 1024,
  maxPeerBacklog: 64 * 1024,
  antiEntropyMs: 1,
  reconnectMaxMs: 1,
} as const;

/** A hub's options, checked and completed with the defaults: what the hub's parts read. */
export interface HubSettings {
  readonly id: NodeId | undefined;
  readonly listen: HostAddress | undefined;
  readonly peers: readonly HostAddress[];
  readonly maxDepth: number;
  readonly maxValueBytes: number;
  readonly secret: string | undefined;
  readonly tls: tls.SecureContextOptions | undefined;
  readonly maxClockSkewMs: number;
  readonly handshakeTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly maxFrameBytes: number;
  readonly maxPeerBacklog: number;
  readonly antiEntropyMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly lagGraceMs: number;
  readonly persist: PersistSettings | undefined;
  readonly redis: RedisGroupSettings | undefined;
  readonly dashboard: DashboardSettings | undefined;
}


function sameAddress(a: HostAddress, b: HostAddress): boolean {
  return (a.host ?? 'localhost') === (b.host ?? 'localhost') && a.port === b.port;
}

/**
 * Checks a hub's options and fills in every default (defaults.ts). Throws a TypeError or
 * RangeError with code `ERR_COLLECTIVE_INVALID_OPTION` naming a bad one. Refuses a hub that
 * would accept strangers: one listening on a non-loopback address without a `secret` or
 * `tls`, unless the caller said `insecure: true` (a private network of its own).
 */
export function hubSettings(local: HostAddress | undefined, allHosts: readonly HostAddress[] | undefined, options: CollectiveOptions = {}): HubSettings {
  if (typeof options !== 'object' || options === null) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected the hub options to be an object, got ${describe(options)}`);
  }
  if (local !== undefined && (typeof local !== 'object' || local === null || typeof local.port !== 'number')) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected the local address to be { host, port }, got ${describe(local)}`);
  }
  if (allHosts !== undefined && !Array.isArray(allHosts)) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected allHosts to be an array of { host, port }, got ${describe(allHosts)}`);
  }
  const peers = (allHosts ?? []).filter((host) => local === undefined || !sameAddress(host, local));
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
  if (local !== undefined) checkListen(local, options);
  if (options.redis !== undefined && (local !== undefined || peers.length > 0)) {
    throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', 'A hub links to other hubs through `redis` or through `listen`/`peers`, not both');
  }
  const reconnectMaxMs = options.reconnectMaxMs ?? DEFAULTS.reconnectMaxMs;
  return {
    id: options.id as NodeId | undefined,
    listen: local,
    peers,
    maxDepth: options.maxDepth ?? DEFAULTS.maxDepth,
    maxValueBytes: options.maxValueBytes ?? DEFAULTS.maxValueBytes,
    secret: options.secret,
    tls: options.tls,
    maxClockSkewMs: options.maxClockSkewMs ?? DEFAULTS.maxClockSkewMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    heartbeatMs: options.heartbeatMs ?? DEFAULTS.heartbeatMs,
    maxFrameBytes: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
    maxPeerBacklog: options.maxPeerBacklog ?? DEFAULTS.maxPeerBacklog,
    antiEntropyMs: options.antiEntropyMs ?? DEFAULTS.antiEntropyMs,
    // A hub told to redial at most every 50 ms starts there too.
    reconnectMinMs: Math.min(DEFAULTS.reconnectMinMs, reconnectMaxMs),
    reconnectMaxMs,
    lagGraceMs: DEFAULTS.lagGraceMs,
    persist: options.persist === undefined ? undefined : persistSettings(options.persist),
    redis: options.redis === undefined ? undefined : redisSettings(options.redis),
    dashboard: options.dashboard === undefined ? undefined : dashboardSettings(options.dashboard),
  };
}

function redisSettings(redis: RedisOptions): RedisGroupSettings {
  const invalid = (what: string, value: unknown) => inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected ${what}, got ${describe(value)}`);
  if (typeof redis !== 'object' || redis === null) throw invalid('`redis` to be { url?, group, name?, client? }', redis);
  if (typeof redis.group !== 'string' || !GROUP_PATTERN.test(redis.group)) throw invalid('`redis.group` to be 1 to 64 letters, digits or `_.-`', redis.group);
  if (redis.url !== undefined && (typeof redis.url !== 'string' || !/^rediss?:\/\//.test(redis.url))) throw invalid('`redis.url` to be a redis:// or rediss:// URL', redis.url);
  if (redis.name !== undefined && (typeof redis.name !== 'string' || redis.name.length === 0 || redis.name.length > 300)) throw invalid('`redis.name` to be a string of 1 to 300 characters', redis.name);
  if (redis.client !== undefined && (typeof redis.client !== 'object' || redis.client === null)) throw invalid('`redis.client` to be an object of node-redis options', redis.client);
  for (const name of ['announceMs', 'snapshotMs', 'maxQueuedOps'] as const) {
    const value = redis[name];
    if (value === undefined) continue;
    const message = `Expected \`redis.${name}\` to be an integer of at least 1, got ${describe(value)}`;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', message);
    if (value < 1) throw inputRangeError('ERR_COLLECTIVE_INVALID_OPTION', message);
  }
  return {
    url: redis.url ?? DEFAULTS.redisUrl,
    group: redis.group,
    name: redis.name,
    client: redis.client ?? {},
    announceMs: redis.announceMs ?? DEFAULTS.redisAnnounceMs,
    snapshotMs: redis.snapshotMs ?? DEFAULTS.redisSnapshotMs,
    maxQueuedOps: redis.maxQueuedOps ?? DEFAULTS.redisMaxQueuedOps,
  };
}

/**
 * Checks a dashboard's options and fills in the defaults. Refuses, as `listen` does without a
 * `secret`, a non-loopback address without a `token` unless `insecure` is set: the page shows
 * the whole store.
 */
export function dashboardSettings(dashboard: DashboardOptions): DashboardSettings {
  const invalid = (what: string, got: unknown): TypeError => inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected ${what}, got ${describe(got)}`);
  if (typeof dashboard !== 'object' || dashboard === null) throw invalid('`dashboard` to be { port?, host?, token?, insecure?, intervalMs? }', dashboard);
  const { port = DEFAULTS.dashboardPort, host = DEFAULTS.dashboardHost, token, insecure = false, intervalMs = DEFAULTS.dashboardIntervalMs } = dashboard;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw invalid('`dashboard.port` to be 0..65535', port);
  if (typeof host !== 'string' || host.length === 0) throw invalid('`dashboard.host` to be a host name or address', host);
  if (token !== undefined && (typeof token !== 'string' || token.length < 8 || token.length > 1024)) throw invalid('`dashboard.token` to be a string of 8 to 1024 characters', '(a token)');
  if (typeof insecure !== 'boolean') throw invalid('`dashboard.insecure` to be a boolean', insecure);
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 10) throw invalid('`dashboard.intervalMs` to be an integer of at least 10', intervalMs);
  if (!LOOPBACK.test(host) && token === undefined && !insecure) {
    throw inputTypeError(
      'ERR_COLLECTIVE_INVALID_OPTION',
      `Refusing to serve the dashboard on ${host} without a \`token\`: anyone who can reach it could read the whole store. ` +
        'Set `dashboard.token`, or `insecure: true` on a network that is yours alone.',
    );
  }
  return { port, host, token, intervalMs };
}

const FSYNC_MODES: ReadonlySet<unknown> = new Set(['always', 'interval', 'never']);

function persistSettings(persist: PersistOptions): PersistSettings {
  const invalid = (what: string, got: unknown): TypeError => inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', `Expected ${what}, got ${describe(got)}`);
  if (typeof persist !== 'object' || persist === null) throw invalid('`persist` to be { dir, fsync?, intervalMs?, compactBytes? }', persist);
  if (typeof persist.dir !== 'string' || persist.dir.length === 0) throw invalid('`persist.dir` to be a directory path', persist.dir);
  if (persist.fsync !== undefined && !FSYNC_MODES.has(persist.fsync)) throw invalid("`persist.fsync` to be 'always', 'interval' or 'never'", persist.fsync);
  for (const [name, least] of [['intervalMs', 1], ['compactBytes', 1024]] as const) {
    const value = persist[name];
    if (value === undefined) continue;
    const message = `Expected \`persist.${name}\` to be an integer of at least ${least}, got ${describe(value)}`;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw inputTypeError('ERR_COLLECTIVE_INVALID_OPTION', message);
    if (value < least) throw inputRangeError('ERR_COLLECTIVE_INVALID_OPTION', message);
  }
  return {
    dir: persist.dir,
    fsync: persist.fsync ?? DEFAULTS.persistFsync,
    intervalMs: persist.intervalMs ?? DEFAULTS.persistIntervalMs,
    compactBytes: persist.compactBytes ?? DEFAULTS.persistCompactBytes,
    compactOps: DEFAULTS.persistCompactOps,
  };
}

function checkListen(local: HostAddress, options: CollectiveOptions): void {
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
