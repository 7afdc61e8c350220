import { CollectiveError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { GroupStore, RawEntry, SnapshotPut } from './store.js';

// The part of a node-redis client this store uses: written here, so that collective's types
// never name the optional `redis` package (a user without it still compiles).
interface Client {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: (string | Buffer)[]): Promise<unknown>;
  duplicate(): Client;
  on(event: 'error' | 'ready' | 'end', listener: (error?: Error) => void): unknown;
  destroy(): void;
}

/** The options a hub gives node-redis: `RedisOptions.client`, with its `url`. */
export type ClientOptions = Record<string, unknown>;

// Makes an upload the snapshot only if it is whole (its length in bytes: an upload that lost a
// part to a restart of Redis, or to its expiry, is shorter) and its vector covers the one stored
// (unless forced: the one stored is not what it claims); an unreadable stored vector (not
// written by collective) is overwritten. RENAME keeps the upload's expiry: PERSIST drops it.
const PUT_SNAPSHOT = `
if redis.call('STRLEN', KEYS[3]) ~= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[3])
  return -1
end
local stored = redis.call('GET', KEYS[2])
if stored and ARGV[3] ~= '1' then
  local ok, old = pcall(cjson.decode, stored)
  local new = cjson.decode(ARGV[1])
  if ok and type(old) == 'table' then
    for origin, seq in pairs(old) do
      if type(seq) == 'number' and (tonumber(new[origin]) or 0) < seq then return 0 end
    end
  end
end
redis.call('RENAME', KEYS[3], KEYS[1])
redis.call('PERSIST', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1])
return 1
`;
/**
 * Loads the optional `redis` package, or says exactly what to install: it is a peer
 * dependency only hubs linked through Redis need.
 */
export async function loadRedis(): Promise<{ createClient(options: ClientOptions): Client }> {
  try {
    return (await import('redis')) as unknown as { createClient(options: ClientOptions): Client };
  } catch (error) {
    throw new CollectiveError('ERR_COLLECTIVE_REDIS_MISSING', 'The `redis` option needs the official Redis client: npm install redis', { cause: error });
  }
}

/**
 * The group store on node-redis: one connection for commands, and one for the blocking reads
 * (a blocked `XREAD` holds its connection). Both reconnect on their own (node-redis's
 * strategy); while down, the tier issues nothing but its pending read.
 */
export class NodeRedisStore implements GroupStore {
  readonly #commands: Client;
  readonly #reader: Client;
  readonly #onReady: (() => void)[] = [];

  private constructor(commands: Client, reader: Client) {
    this.#commands = commands;
    this.#reader = reader;
  }

  /** Starts connecting (it does not wait: the hub serves its machine meanwhile). */
  static async open(options: ClientOptions, log: Logger): Promise<NodeRedisStore> {
    const { createClient } = await loadRedis();
    // RESP2: replies as plain arrays, whatever the client's default protocol.
    const commands = createClient({ ...options, RESP: 2 });
    const reader = commands.duplicate();
    const store = new NodeRedisStore(commands, reader);
    for (const [client, role] of [
      [commands, 'commands'],
      [reader, 'reads'],
    ] as const) {
      // Reconnects are the client's; an error with no listener would crash the process.
      client.on('error', (error) => log('redis (%s): %s', role, error?.message));
    }
    commands.on('ready', () => {
      for (const listener of store.#onReady) listener();
    });
    // A first connection that fails is retried by the client; its errors come as events.
    commands.connect().catch(() => undefined);
    reader.connect().catch(() => undefined);
    return store;
  }

  get ready(): boolean {
    return this.#commands.isReady;
  }

  onReady(listener: () => void): void {
    this.#onReady.push(listener);
  }

  async append(key: string, id: string, fields: readonly (string | Buffer)[]): Promise<boolean> {
    try {
      await this.#commands.sendCommand(['XADD', key, id, ...fields]);
      return true;
    } catch (error) {
      if (/equal or smaller/.test((error as Error).message)) return false;
      throw error;
    }
  }

  async read(cursors: readonly (readonly [string, string])[], count: number, blockMs: number): Promise<Map<string, RawEntry[]>> {
    const reply = await this.#reader.sendCommand(['XREAD', 'COUNT', String(count), 'BLOCK', String(blockMs), 'STREAMS', ...cursors.map(([key]) => key), ...cursors.map(([, after]) => after)]);
    const streams = new Map<string, RawEntry[]>();
    if (!Array.isArray(reply)) return streams;
    for (const stream of reply) {
      if (!Array.isArray(stream) || typeof stream[0] !== 'string') continue;
      streams.set(stream[0], entriesOf(stream[1]));
    }
    return streams;
  }

  async range(key: string, after: string, count: number): Promise<RawEntry[]> {
    return entriesOf(await this.#commands.sendCommand(['XRANGE', key, `(${after}`, '+', 'COUNT', String(count)]));
  }

  async top(key: string): Promise<string | undefined> {
    return entriesOf(await this.#commands.sendCommand(['XREVRANGE', key, '+', '-', 'COUNT', '1']))[0]?.id;
  }

  async lastId(key: string): Promise<string | undefined> {
    if (Number(await this.#commands.sendCommand(['EXISTS', key])) === 0) return undefined;
    const info = await this.#commands.sendCommand(['XINFO', 'STREAM', key]);
    if (!Array.isArray(info)) return undefined;
    const at = info.indexOf('last-generated-id');
    return at >= 0 && typeof info[at + 1] === 'string' ? (info[at + 1] as string) : undefined;
  }

  async remove(key: string, id: string): Promise<void> {
    await this.#commands.sendCommand(['XDEL', key, id]);
  }

  async settle(key: string): Promise<void> {
    // An explicit id at or below the last one ever added is refused, even once that entry is
    // gone: the last id goes back to the top entry's (or 0-1 for a stream left empty).
    const top = await this.top(key);
    await this.#commands.sendCommand(['XSETID', key, top ?? '0-1']);
  }

  async trim(key: string, minId: string): Promise<void> {
    await this.#commands.sendCommand(['XTRIM', key, 'MINID', minId]);
  }

  async announce(key: string, field: string, text: string): Promise<void> {
    await this.#commands.sendCommand(['HSET', key, field, text]);
  }

  async announcements(key: string, most: number): Promise<Map<string, string> | 'too many'> {
    const length = Number(await this.#commands.sendCommand(['HLEN', key]));
    if (length > most) return 'too many';
    const flat = await this.#commands.sendCommand(['HGETALL', key]);
    const fields = new Map<string, string>();
    if (!Array.isArray(flat)) return fields;
    for (let i = 0; i + 1 < flat.length; i += 2) if (typeof flat[i] === 'string' && typeof flat[i + 1] === 'string') fields.set(flat[i], flat[i + 1]);
    return fields;
  }

  async get(key: string, most: number): Promise<string | undefined | 'too large'> {
    const length = Number(await this.#commands.sendCommand(['STRLEN', key]));
    if (length > most) return 'too large';
    const value = await this.#commands.sendCommand(['GET', key]);
    return typeof value === 'string' ? value : undefined;
  }

  async uploadPart(key: string, text: string, first: boolean, ttlMs: number): Promise<void> {
    if (first) await this.#commands.sendCommand(['SET', key, text, 'PX', String(ttlMs)]);
    else await Promise.all([this.#commands.sendCommand(['APPEND', key, text]), this.#commands.sendCommand(['PEXPIRE', key, String(ttlMs)])]);
  }

  async putSnapshot(snapshotKey: string, vectorKey: string, uploadKey: string, bytes: number, vector: string, force: boolean): Promise<SnapshotPut> {
    const reply = Number(await this.#commands.sendCommand(['EVAL', PUT_SNAPSHOT, '3', snapshotKey, vectorKey, uploadKey, vector, String(bytes), force ? '1' : '0']));
    return reply === 1 ? 'stored' : reply === -1 ? 'incomplete' : 'refused';
  }

  async close(): Promise<void> {
    this.#commands.destroy();
    this.#reader.destroy();
  }
}

// A stream reply's entries ([[id, [field, value, ...]], ...]); anything else is left out.
function entriesOf(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply)) return [];
  const entries: RawEntry[] = [];
  for (const entry of reply) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) continue;
    entries.push({ id: entry[0], fields: (entry[1] as unknown[]).map((field) => (typeof field === 'string' ? field : '')) });
  }
  return entries;
}
