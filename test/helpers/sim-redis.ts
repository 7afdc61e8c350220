/**
 * A Redis server in virtual time for the Redis tier's simulator (redis-simulator.ts): streams,
 * hashes and strings, the commands of lib/mesh/redis/store.ts, each answered after a seeded
 * delay. It persists the way `appendfsync everysec` does: a restart keeps what it had at its
 * last fsync (every second) and loses the rest. Each hub gets a connection of its own, which the
 * simulation can cut; a connection or a server that is down fails the commands in flight.
 */
import type { GroupStore, RawEntry, SnapshotPut } from '../../lib/mesh/redis/store.js';
import type { Random } from './random.js';
import type { VirtualTime } from './virtual-time.js';

interface Stream {
  entries: RawEntry[];
  /** The last id ever added (as a seq: the ids the tier writes are `<seq>-0`). */
  last: number;
}

interface State {
  streams: Map<string, Stream>;
  hashes: Map<string, Map<string, string>>;
  strings: Map<string, string>;
}

/** The seq of a stream entry id (`<seq>-0`). */
export const seqOf = (id: string): number => Number(id.split('-')[0]);

function copy(state: State): State {
  return {
    streams: new Map([...state.streams].map(([key, stream]) => [key, { entries: [...stream.entries], last: stream.last }])),
    hashes: new Map([...state.hashes].map(([key, hash]) => [key, new Map(hash)])),
    strings: new Map(state.strings),
  };
}

class Down extends Error {
  constructor() {
    super('Socket closed unexpectedly');
  }
}

export class SimRedisServer {
  readonly #time: VirtualTime;
  readonly #rng: Random;
  #state: State = { streams: new Map(), hashes: new Map(), strings: new Map() };
  #fsynced: State = copy(this.#state);
  up = true;
  readonly connections = new Set<SimRedisConnection>();
  /** Restarts, and stream entries they lost. */
  restarts = 0;
  entriesLost = 0;

  constructor(time: VirtualTime, rng: Random) {
    this.#time = time;
    this.#rng = rng;
    const fsync = (): void => {
      if (this.up) this.#fsynced = copy(this.#state);
      time.schedule(time.now + 1000, fsync);
    };
    time.schedule(time.now + 1000, fsync);
  }

  get state(): State {
    return this.#state;
  }

  /** kill -9: down for `downMs`, then back with what its last fsync kept. */
  crash(downMs: number): void {
    if (!this.up) return;
    this.up = false;
    this.restarts++;
    const count = (state: State): number => [...state.streams.values()].reduce((sum, stream) => sum + stream.entries.length, 0);
    this.entriesLost += Math.max(0, count(this.#state) - count(this.#fsynced));
    for (const connection of this.connections) connection.drop();
    if (process.env.REDIS_SIM_LOG !== undefined) console.log(`${this.#time.now} [redis] killed, back in ${downMs} ms`);
    this.#time.schedule(this.#time.now + downMs, () => {
      if (process.env.REDIS_SIM_LOG !== undefined) console.log(`${this.#time.now} [redis] back`);
      this.#state = copy(this.#fsynced);
      this.up = true;
      for (const connection of this.connections) connection.reconnect();
    });
  }

  /** A connection for one hub. */
  connect(): SimRedisConnection {
    const connection = new SimRedisConnection(this, this.#time, this.#rng);
    this.connections.add(connection);
    return connection;
  }

  /** Wakes the blocked reads waiting on `key`. */
  added(key: string): void {
    for (const connection of this.connections) connection.wake(key);
  }
}

interface Waiter {
  keys: Set<string>;
  check(): boolean;
}

export class SimRedisConnection implements GroupStore {
  readonly #server: SimRedisServer;
  readonly #time: VirtualTime;
  readonly #rng: Random;
  readonly #ready: (() => void)[] = [];
  // Commands in flight: failed when the connection drops.
  readonly #inflight = new Set<(error: Error) => void>();
  readonly #waiters = new Set<Waiter>();
  cut = false;
  closed = false;

  constructor(server: SimRedisServer, time: VirtualTime, rng: Random) {
    this.#server = server;
    this.#time = time;
    this.#rng = rng;
  }

  get ready(): boolean {
    return this.#server.up && !this.cut && !this.closed;
  }

  onReady(listener: () => void): void {
    this.#ready.push(listener);
  }

  /** The link dropped (a cut, or the server died): everything in flight fails. */
  drop(): void {
    for (const fail of [...this.#inflight]) fail(new Down());
  }

  /** Connected again: the listeners hear of it. */
  reconnect(): void {
    if (!this.ready) return;
    for (const listener of this.#ready) listener();
  }

  /** Cuts this hub off Redis for `ms`. */
  cutFor(ms: number): void {
    if (this.cut) return;
    this.cut = true;
    this.drop();
    this.#time.schedule(this.#time.now + ms, () => {
      this.cut = false;
      this.reconnect();
    });
  }

  wake(key: string): void {
    for (const waiter of [...this.#waiters]) if (waiter.keys.has(key)) waiter.check();
  }

  // Runs `command` on the server after a delay, unless the connection drops first.
  #run<T>(command: (state: State) => T): Promise<T> {
    if (!this.ready) return Promise.reject(new Down());
    return new Promise<T>((resolve, reject) => {
      const fail = (error: Error): void => {
        this.#inflight.delete(fail);
        cancel();
        reject(error);
      };
      this.#inflight.add(fail);
      const cancel = this.#time.schedule(this.#time.now + this.#rng.int(0, 3), () => {
        this.#inflight.delete(fail);
        if (!this.ready) return reject(new Down());
        try {
          resolve(command(this.#server.state));
        } catch (error) {
          reject(error as Error);
        }
      });
    });
  }

  append(key: string, id: string, fields: readonly (string | Buffer)[]): Promise<boolean> {
    return this.#run((state) => {
      let stream = state.streams.get(key);
      if (stream === undefined) state.streams.set(key, (stream = { entries: [], last: 0 }));
      if (seqOf(id) <= stream.last) return false;
      // Bytes come back as text, as from Redis.
      stream.entries.push({ id, fields: fields.map((field) => field.toString()) });
      stream.last = seqOf(id);
      if (process.env.REDIS_SIM_LOG !== undefined) console.log(`${this.#time.now} [redis] XADD ${key} ${id} f=${fields[3]}`);
      this.#time.schedule(this.#time.now, () => this.#server.added(key));
      return true;
    });
  }

  read(cursors: readonly (readonly [string, string])[], count: number, blockMs: number): Promise<Map<string, RawEntry[]>> {
    const collect = (state: State): Map<string, RawEntry[]> => {
      const found = new Map<string, RawEntry[]>();
      for (const [key, after] of cursors) {
        const entries = (state.streams.get(key)?.entries ?? []).filter((entry) => seqOf(entry.id) > seqOf(after)).slice(0, count);
        if (entries.length > 0) found.set(key, entries);
      }
      return found;
    };
    return this.#run((state) => collect(state)).then((found) => {
      if (found.size > 0) return found;
      // Blocks until an entry comes on one of its streams, or blockMs passes.
      return new Promise<Map<string, RawEntry[]>>((resolve, reject) => {
        const done = (): void => {
          this.#waiters.delete(waiter);
          this.#inflight.delete(fail);
          cancel();
        };
        const fail = (error: Error): void => {
          done();
          reject(error);
        };
        const waiter: Waiter = {
          keys: new Set(cursors.map(([key]) => key)),
          check: () => {
            const now = collect(this.#server.state);
            if (now.size === 0) return false;
            done();
            resolve(now);
            return true;
          },
        };
        const cancel = this.#time.schedule(this.#time.now + blockMs, () => {
          done();
          resolve(new Map());
        });
        this.#waiters.add(waiter);
        this.#inflight.add(fail);
      });
    });
  }

  range(key: string, after: string, count: number): Promise<RawEntry[]> {
    return this.#run((state) => (state.streams.get(key)?.entries ?? []).filter((entry) => seqOf(entry.id) > seqOf(after)).slice(0, count));
  }

  top(key: string): Promise<string | undefined> {
    return this.#run((state) => state.streams.get(key)?.entries.at(-1)?.id);
  }

  lastId(key: string): Promise<string | undefined> {
    return this.#run((state) => {
      const stream = state.streams.get(key);
      return stream === undefined ? undefined : `${stream.last}-0`;
    });
  }

  remove(key: string, id: string): Promise<void> {
    return this.#run((state) => {
      const stream = state.streams.get(key);
      if (stream !== undefined) stream.entries = stream.entries.filter((entry) => entry.id !== id);
    });
  }

  settle(key: string): Promise<void> {
    return this.#run((state) => {
      const stream = state.streams.get(key);
      if (stream !== undefined) stream.last = stream.entries.length === 0 ? 0 : seqOf(stream.entries.at(-1)!.id);
    });
  }

  trim(key: string, minId: string): Promise<void> {
    return this.#run((state) => {
      const stream = state.streams.get(key);
      if (stream !== undefined) stream.entries = stream.entries.filter((entry) => seqOf(entry.id) >= seqOf(minId));
    });
  }

  announce(key: string, field: string, text: string): Promise<void> {
    return this.#run((state) => {
      let hash = state.hashes.get(key);
      if (hash === undefined) state.hashes.set(key, (hash = new Map()));
      hash.set(field, text);
    });
  }

  announcements(key: string, most: number): Promise<Map<string, string> | 'too many'> {
    return this.#run((state) => {
      const hash = state.hashes.get(key) ?? new Map<string, string>();
      return hash.size > most ? 'too many' : new Map(hash);
    });
  }

  get(key: string, most: number): Promise<string | undefined | 'too large'> {
    return this.#run((state) => {
      const value = state.strings.get(key);
      return value !== undefined && value.length > most ? 'too large' : value;
    });
  }

  // The upload's expiry is not simulated: a hub that dies mid-upload leaves its key, which only
  // its own next upload (the same key) replaces.
  uploadPart(key: string, text: string, first: boolean, _ttlMs: number): Promise<void> {
    return this.#run((state) => {
      state.strings.set(key, first ? text : (state.strings.get(key) ?? '') + text);
    });
  }

  putSnapshot(snapshotKey: string, vectorKey: string, uploadKey: string, bytes: number, vector: string, force: boolean): Promise<SnapshotPut> {
    return this.#run((state) => {
      const upload = state.strings.get(uploadKey);
      if (upload === undefined || Buffer.byteLength(upload, 'utf8') !== bytes) {
        state.strings.delete(uploadKey);
        return 'incomplete';
      }
      const stored = state.strings.get(vectorKey);
      if (stored !== undefined && !force) {
        const old = JSON.parse(stored) as Record<string, number>;
        const next = JSON.parse(vector) as Record<string, number>;
        for (const [origin, seq] of Object.entries(old)) if ((next[origin] ?? 0) < seq) return 'refused';
      }
      state.strings.delete(uploadKey);
      state.strings.set(snapshotKey, upload);
      state.strings.set(vectorKey, vector);
      return 'stored';
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.drop();
    this.#server.connections.delete(this);
  }
}
