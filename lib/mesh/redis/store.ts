/**
 * The Redis commands the Redis tier runs (mesh/redis/tier.ts), behind one small interface: the
 * tier's logic depends on what these do, not on a client library, so tests can run it on an
 * in-memory store and the shipping hub on node-redis (mesh/redis/node-redis.ts).
 */

/** An entry as read from a stream: its id and its fields, flat (`[name, value, ...]`). */
export interface RawEntry {
  readonly id: string;
  readonly fields: readonly string[];
}

/** What storing an uploaded snapshot did (see GroupStore.putSnapshot). */
export type SnapshotPut = 'stored' | 'refused' | 'incomplete';

/** The commands of one hub's connection to its group's Redis. */
export interface GroupStore {
  /** Whether commands can run now (connected and ready). */
  readonly ready: boolean;
  /** `listener` runs each time the connection becomes ready (the first time and after each reconnect). */
  onReady(listener: () => void): void;
  /** Adds an entry under `id` (`XADD`); false when the stream already has one at or after it. */
  append(key: string, id: string, fields: readonly (string | Buffer)[]): Promise<boolean>;
  /**
   * Entries after each cursor (`XREAD`), at most `count` per stream, waiting up to `blockMs`
   * for one on a connection of its own: per stream key, its entries (streams with none left out).
   */
  read(cursors: readonly (readonly [key: string, after: string])[], count: number, blockMs: number): Promise<Map<string, RawEntry[]>>;
  /** Entries after `after` (exclusive), at most `count` (`XRANGE`). */
  range(key: string, after: string, count: number): Promise<RawEntry[]>;
  /** The id of the stream's last entry, if it has one (`XREVRANGE ... COUNT 1`). */
  top(key: string): Promise<string | undefined>;
  /** The last id ever added to the stream, even if trimmed since (`XINFO STREAM`); undefined without the stream. */
  lastId(key: string): Promise<string | undefined>;
  /** Removes one entry (`XDEL`). */
  remove(key: string, id: string): Promise<void>;
  /** Sets the stream's last id back to its top entry's (`XSETID`), after entries past it were removed. */
  settle(key: string): Promise<void>;
  /** Removes the entries before `minId` (`XTRIM MINID`). */
  trim(key: string, minId: string): Promise<void>;
  /** Sets `field` of hash `key` (`HSET`). */
  announce(key: string, field: string, text: string): Promise<void>;
  /** Every field of hash `key`, unless it has more than `most` (`HLEN`, `HGETALL`). */
  announcements(key: string, most: number): Promise<Map<string, string> | 'too many'>;
  /** The string at `key`, unless it is longer than `most` bytes (`STRLEN`, `GET`). */
  get(key: string, most: number): Promise<string | undefined | 'too large'>;
  /**
   * Writes a part of an upload to `key`: the first part replaces what the key held, each next
   * one is appended (`SET`, `APPEND`); the key expires `ttlMs` after the last part, so that an
   * upload its hub gave up on goes away.
   */
  uploadPart(key: string, text: string, first: boolean, ttlMs: number): Promise<void>;
  /**
   * Makes the upload at `uploadKey`, if it holds exactly `bytes` bytes, the snapshot, with its
   * `{ origin: seq }` vector, atomically, only if that vector covers the one stored (or none is,
   * or the one stored is unreadable): snapshots never go back. `force` stores it anyway (what is
   * stored was found not to be what it claims). 'incomplete': the upload lost a part (Redis
   * restarted, or the key expired, meanwhile), and is removed.
   */
  putSnapshot(snapshotKey: string, vectorKey: string, uploadKey: string, bytes: number, vector: string, force: boolean): Promise<SnapshotPut>;
  /** Closes the connections; commands in flight fail. */
  close(): Promise<void>;
}
