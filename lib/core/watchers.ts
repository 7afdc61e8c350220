import type { NodeId } from './clock.js';
import type { Op, OpKind } from './op.js';
import { formatPath, isPrefixOf, type Segments } from './path.js';
import { jsonEqual, type JsonValue } from './value.js';

/** What changed, passed to a watch listener with the new value. */
export interface Change {
  /** The path written (or that expired), dotted. */
  readonly path: string;
  /** The same path, as segments (a segment may hold a dot). */
  readonly segments: Segments;
  /** The kind of write, or `'expire'` when the value at `path` expired. */
  readonly op: OpKind | 'expire';
  /** The hub that stamped the write (for an expiry: this process's hub). */
  readonly origin: NodeId;
}

/**
 * Called with the new value at the watched path (`undefined` when it no longer exists) and the
 * change that caused it.
 */
export type WatchListener = (value: JsonValue | undefined, change: Change) => void;

interface Watcher {
  readonly prefix: Segments;
  readonly listener: WatchListener;
  last: JsonValue | undefined;
}

/**
 * Watch listeners by path. A listener fires once per applied op at, under or above its path
 * that changed the value there; a stale write or a write of the value already held fires
 * nothing.
 */
export class Watchers {
  // By the first segment of their path: an op can change the value at a path only if their
  // paths share it (one is a prefix of the other), so an op meets only the watchers under its
  // own first segment, however many others there are.
  readonly #byKey = new Map<string, Set<Watcher>>();
  #size = 0;
  readonly #read: (path: Segments) => JsonValue | undefined;

  constructor(read: (path: Segments) => JsonValue | undefined) {
    this.#read = read;
  }

  /** Adds a listener; returns the function that removes it. */
  add(prefix: Segments, listener: WatchListener): () => void {
    const watcher: Watcher = { prefix, listener, last: this.#read(prefix) };
    const key = prefix[0]!;
    let sameKey = this.#byKey.get(key);
    if (sameKey === undefined) this.#byKey.set(key, (sameKey = new Set()));
    sameKey.add(watcher);
    this.#size++;
    return () => {
      if (!sameKey.delete(watcher)) return;
      this.#size--;
      if (sameKey.size === 0 && this.#byKey.get(key) === sameKey) this.#byKey.delete(key);
    };
  }

  get size(): number {
    return this.#size;
  }

  /** After the whole state was replaced: calls every listener whose value changed. */
  resync(origin: NodeId): void {
    for (const watcher of [...this.#byKey.values()].flatMap((sameKey) => [...sameKey])) {
      const value = this.#read(watcher.prefix);
      if (jsonEqual(value, watcher.last)) continue;
      watcher.last = value;
      this.#call(watcher, value, { path: formatPath(watcher.prefix), segments: watcher.prefix, op: 'set', origin });
    }
  }

  #call(watcher: Watcher, value: JsonValue | undefined, change: Change): void {
    try {
      watcher.listener(value, change);
    } catch (error) {
      // A listener's bug must not leave a write half-applied: surface it outside the apply,
      // as an uncaught exception, like an error thrown from any other callback.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  /** Calls the listeners whose value `op` changed; `origin` defaults to the op's stamp. */
  notify(op: Pick<Op, 'kind' | 'path'> & { readonly stamp?: Op['stamp'] }, origin: NodeId = op.stamp!.node): void {
    this.#notify(op.path, op.kind, origin);
  }

  /** Calls the listeners whose value changed because the value at `path` expired. */
  notifyExpired(path: Segments, origin: NodeId): void {
    this.#notify(path, 'expire', origin);
  }

  #notify(path: Segments, kind: Change['op'], origin: NodeId): void {
    if (this.#size === 0) return;
    const sameKey = this.#byKey.get(path[0]!);
    if (sameKey === undefined) return;
    let change: Change | undefined;
    for (const watcher of sameKey) {
      if (!isPrefixOf(watcher.prefix, path) && !isPrefixOf(path, watcher.prefix)) continue;
      const value = this.#read(watcher.prefix);
      if (jsonEqual(value, watcher.last)) continue;
      watcher.last = value;
      change ??= { path: formatPath(path), segments: path, op: kind, origin };
      this.#call(watcher, value, change);
    }
  }
}
