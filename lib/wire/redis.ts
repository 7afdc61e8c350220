/**
 * What hubs linked through Redis keep in their group's keys (mesh/redis/), and the checks of
 * everything read back from there: whatever else can write to the Redis server can write
 * there too, so every entry, announcement and snapshot is validated whole before any of it is
 * used, and refused with a reason otherwise.
 *
 * - `collective:<group>:ops:<id>`: a stream per hub, its own ops. An entry's id is
 *   `<upTo>-0`, the seq of its last op, so that stream positions are sequence numbers: a reader
 *   at seq n reads from `n-0`, and trimming below a seq is `XTRIM MINID`. Fields: `v` (this
 *   format, 1), `f` (the seq the entry follows: it covers ops f+1 to upTo), `o` (the ops, runs
 *   of core/codec.ts, as JSON) and, in an entry rebuilt from a replica that holds only the ops
 *   not overwritten since, `s` (the stamp of op upTo, `wall,count`).
 * - `collective:<group>:hubs`: a hash, per hub id its announcement (JSON): its frontier and
 *   what it knows of the group (a peer `frontier` message), when it said so, its incarnation,
 *   the name it runs under, and whether it left for good.
 * - `collective:<group>:snapshot` (a replica snapshot, and what its writer knew of the group:
 *   whom it counted as members or gone, and their names; JSON) and `...:snapshot:vector` (its
 *   version vector as `{ origin: seq }`, which a newer snapshot must cover).
 */
import { decodeNodeId, decodeRun, decodeStamp, type DecodeLimits } from '../core/codec.js';
import { compareStamps, type NodeId, type Stamp } from '../core/clock.js';
import type { Op } from '../core/op.js';
import type { ReplicaSnapshot } from '../core/replica-types.js';
import type { JsonValue } from '../core/value.js';
import { jsonSlices } from './json-slices.js';
import { decodePeerFrame, membersFrame, vectorFrame, type GroupMessage, type VectorMessage } from './peer.js';

/** The version of the entry and announcement formats. */
export const REDIS_FORMAT = 1;

/**
 * The most ops an entry may hold once its runs' repeats are expanded (core/codec.ts
 * RUN_REPEAT): ten times what a hub puts in one (mesh/redis/own-stream.ts OPS_PER_ENTRY). A run
 * of a thousand increments of one counter takes a few dozen bytes, so the entry's size alone
 * bounds nothing: without this, 16 MB of them would ask for 400 million ops.
 */
export const MAX_ENTRY_OPS = 100_000;

/** What a group name may be: it is part of every key. */
export const GROUP_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** The keys of a group. */
export interface GroupKeys {
  readonly hubs: string;
  readonly snapshot: string;
  readonly snapshotVector: string;
  stream(id: string): string;
  /** Where hub `id` uploads its snapshot, in parts, before it becomes the snapshot. */
  upload(id: string): string;
}

/** The keys of `group` (checked against GROUP_PATTERN by the settings). */
export function groupKeys(group: string): GroupKeys {
  const prefix = `collective:${group}:`;
  return {
    hubs: `${prefix}hubs`,
    snapshot: `${prefix}snapshot`,
    snapshotVector: `${prefix}snapshot:vector`,
    stream: (id) => `${prefix}ops:${id}`,
    upload: (id) => `${prefix}snapshot:upload:${id}`,
  };
}

/** The stream entry id of an entry whose last op is `upTo`. */
export function entryId(upTo: number): string {
  return `${upTo}-0`;
}

/** The seq an entry id stands for, or undefined for an id this format never writes. */
export function seqOfEntryId(id: string): number | undefined {
  const match = /^(\d{1,15})-0$/.exec(id);
  return match === null ? undefined : Number(match[1]);
}

/** The fields of an entry as appended: the ops as bytes (see entryFields), the rest as text. */
export type EntryFields = (string | Buffer)[];

/**
 * The fields of an entry following seq `from` and holding `runs` (the JSON text of
 * core/codec.ts runs of the origin's ops, seqs increasing, as bytes: see RunBytes): every op
 * from + 1 on, or, for an entry rebuilt from a replica that holds only the ops not overwritten
 * since, those and `lastStamp`, the stamp of its last seq (the entry's id).
 */
export function entryFields(from: number, runs: Buffer, lastStamp?: Stamp): EntryFields {
  const fields: EntryFields = ['v', String(REDIS_FORMAT), 'f', String(from), 'o', runs];
  if (lastStamp !== undefined) fields.push('s', `${lastStamp.wall},${lastStamp.count}`);
  return fields;
}

/** A stream entry, checked. */
export interface StreamEntry {
  /** The seq the entry follows: it covers ops from + 1 to upTo. */
  readonly from: number;
  readonly upTo: number;
  /** The stamp of op `upTo`. */
  readonly stamp: Stamp;
  /** Its ops, seqs increasing: all of from + 1 to upTo, or (when rebuilt) those not overwritten. */
  readonly ops: Op[];
}

const ENTRY_FIELDS: ReadonlySet<string> = new Set(['v', 'f', 'o', 's']);

/**
 * Checks an entry of `origin`'s stream whole: its id, its format, its ops (values adopted,
 * checked with `limits`), all of `origin`, seqs increasing within from + 1 to upTo (all of
 * them unless the entry gives upTo's stamp). Throws a TypeError naming what is wrong.
 */
export function decodeEntry(origin: NodeId, id: string, flat: readonly string[], limits: DecodeLimits & { maxEntryBytes: number }): StreamEntry {
  const upTo = seqOfEntryId(id);
  if (upTo === undefined || upTo < 1) throw new TypeError(`an entry id this format never writes (${id.slice(0, 40)})`);
  const fields = new Map<string, string>();
  if (flat.length % 2 !== 0 || flat.length > 2 * ENTRY_FIELDS.size) throw new TypeError('entry fields other than v, f, o, s');
  for (let i = 0; i < flat.length; i += 2) {
    if (!ENTRY_FIELDS.has(flat[i]!) || fields.has(flat[i]!)) throw new TypeError('entry fields other than v, f, o, s');
    fields.set(flat[i]!, flat[i + 1]!);
  }
  if (fields.get('v') !== String(REDIS_FORMAT)) throw new TypeError(`an entry not of format ${REDIS_FORMAT}`);
  const fromText = fields.get('f');
  const from = fromText !== undefined && /^\d{1,15}$/.test(fromText) ? Number(fromText) : undefined;
  if (from === undefined || from >= upTo) throw new TypeError('an entry whose first seq is not before its last');
  const text = fields.get('o') ?? '';
  if (text.length > limits.maxEntryBytes) throw new TypeError(`an entry of ${text.length} bytes, over the limit of ${limits.maxEntryBytes}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TypeError('entry ops that are not JSON');
  }
  if (!Array.isArray(raw)) throw new TypeError('entry ops that are not a list of runs');
  const ops: Op[] = [];
  // The ops are fresh from JSON.parse: their values are checked and frozen in place.
  const adopting = { ...limits, adopt: true };
  let previous = from;
  for (const run of raw) {
    // A run is one origin's ops with consecutive seqs (decodeRun): its first and last op say
    // whether it is of this stream and within the entry, after the run before it.
    const decoded = decodeRun(run, adopting);
    const first = decoded[0]!;
    if (first.stamp.node !== origin) throw new TypeError(`ops of ${first.stamp.node} in the stream of ${origin}`);
    const last = decoded[decoded.length - 1]!;
    if (first.seq <= previous || last.seq > upTo) throw new TypeError(`an entry whose ops are not increasing seqs from ${from + 1} to ${upTo}`);
    previous = last.seq;
    // One by one: a run may hold more ops than a call can take as arguments.
    for (const op of decoded) ops.push(op);
    if (ops.length > MAX_ENTRY_OPS) throw new TypeError(`an entry of more than ${MAX_ENTRY_OPS} ops`);
  }
  const stampText = fields.get('s');
  if (stampText === undefined) {
    if (ops.length !== upTo - from) throw new TypeError(`an entry without every op from ${from + 1} to ${upTo}, nor the stamp of ${upTo}`);
    return { from, upTo, stamp: ops[ops.length - 1]!.stamp, ops };
  }
  const parts = /^(\d{1,15}),(\d{1,15})$/.exec(stampText);
  if (parts === null) throw new TypeError('an entry with a malformed stamp');
  const stamp = decodeStamp(Number(parts[1]), Number(parts[2]), origin);
  const last = ops[ops.length - 1];
  if (last !== undefined && compareStamps(last.stamp, stamp) > 0) throw new TypeError('an entry whose ops are stamped after its last');
  return { from, upTo, stamp, ops };
}

/** What a hub says of itself in its group's hash, every announce round. */
export interface Announcement {
  readonly id: NodeId;
  /** This start of the hub (see Hello.incarnation). */
  readonly incarnation: string;
  /** Its wall clock when it said so. */
  readonly at: number;
  /** The name it runs under (a machine's), if any: see RedisOptions.name. */
  readonly name?: string | undefined;
  /** It closed for good: its ops will come from nobody else, and it counts for GC no more. */
  readonly left?: boolean;
  /** Its frontier and what it knows of the group. */
  readonly message: VectorMessage;
}

/** The text of an announcement. */
export function encodeAnnouncement(announcement: Announcement): string {
  const text: Record<string, unknown> = { v: REDIS_FORMAT, id: announcement.id, i: announcement.incarnation, at: announcement.at, p: vectorFrame(announcement.message, 'frontier').p };
  if (announcement.name !== undefined) text.n = announcement.name;
  if (announcement.left === true) text.q = 1;
  return JSON.stringify(text);
}

/** Checks an announcement read from the hash under `field`; throws a TypeError naming what is wrong. */
export function decodeAnnouncement(field: string, text: string, maxBytes: number): Announcement {
  if (text.length > maxBytes) throw new TypeError(`an announcement of ${text.length} bytes, over the limit of ${maxBytes}`);
  const input = parseObject(text, 'an announcement');
  if (input.v !== REDIS_FORMAT) throw new TypeError(`announcement format ${String(input.v).slice(0, 20)}, not ${REDIS_FORMAT}`);
  const id = decodeNodeId(input.id);
  if (id !== field) throw new TypeError(`an announcement of ${id} under ${field.slice(0, 40)}`);
  if (typeof input.i !== 'string' || input.i.length === 0 || input.i.length > 64) throw new TypeError('an announcement without an incarnation');
  if (typeof input.at !== 'number' || !Number.isSafeInteger(input.at) || input.at < 0) throw new TypeError('an announcement without a time');
  if (input.n !== undefined && (typeof input.n !== 'string' || input.n.length === 0 || input.n.length > 300)) throw new TypeError('an announcement with a malformed name');
  if (input.q !== undefined && input.q !== 1) throw new TypeError('an announcement with a malformed leaving flag');
  const frame = decodePeerFrame({ t: 'frontier', p: input.p }, { maxDepth: 1, maxValueBytes: 0 });
  if (frame.t !== 'frontier') throw new TypeError('an announcement without a frontier');
  return { id, incarnation: input.i, at: input.at, name: input.n as string | undefined, left: input.q === 1, message: frame.message };
}

/**
 * The `{ origin: seq }` form of a vector stored beside a snapshot (what a newer one must cover),
 * origins sorted: two hubs holding the same vector write the same text, which is what tells a
 * hub the stored snapshot holds all it does.
 */
export function seqsOf(vector: Readonly<Record<string, { readonly seq: number } | undefined>>): Record<string, number> {
  const seqs: Record<string, number> = {};
  for (const origin of Object.keys(vector).sort()) {
    const entry = vector[origin];
    if (entry !== undefined) seqs[origin] = entry.seq;
  }
  return seqs;
}

/**
 * The text of the group snapshot (the replica's, and what its writer knew of the group), in
 * slices: see jsonSlices. `snapshot` must not change meanwhile (a replica's is made so).
 */
export function groupSnapshotSlices(snapshot: ReplicaSnapshot, group: GroupMessage): Generator<string, void, undefined> {
  return jsonSlices({ v: REDIS_FORMAT, r: snapshot as unknown as JsonValue, g: membersFrame(group).p as JsonValue });
}

/**
 * Checks the envelope of a group snapshot and what it says of the group; the replica snapshot
 * inside is checked whole by Replica.fromSnapshot before any of it is used. Throws a TypeError.
 */
export function decodeGroupSnapshot(text: string): { snapshot: ReplicaSnapshot; group: GroupMessage } {
  const input = parseObject(text, 'a group snapshot');
  if (input.v !== REDIS_FORMAT || typeof input.r !== 'object' || input.r === null) throw new TypeError(`a group snapshot not of format ${REDIS_FORMAT}`);
  const frame = decodePeerFrame({ t: 'members', p: input.g }, { maxDepth: 1, maxValueBytes: 0 });
  if (frame.t !== 'members') throw new TypeError('a group snapshot without its group');
  return { snapshot: input.r as ReplicaSnapshot, group: frame.group };
}

// The JSON object `text` holds; throws a TypeError naming `what` otherwise.
function parseObject(text: string, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TypeError(`${what} that is not JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TypeError(`${what} that is not an object`);
  return raw as Record<string, unknown>;
}
