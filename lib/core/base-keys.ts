import { LiveReadings } from './live-readings.js';
import type { JsonValue } from './value.js';

// The keys of a parent GC folds into in place (TreeNode.foldBase), listed as the folds add them,
// and the snapshots reading it meanwhile: a snapshot of a parent of a million keys walks this
// list a slice at a time (where `Object.keys` of the object would stop the event loop for about
// half a second), and the folds that change the parent while it does keep what it must still
// read (where a copy of the parent would stop the event loop for about two seconds).

// Frozen objects handed out, with their listed keys (see `listedKeysOf`).
const listedKeys = new WeakMap<object, readonly string[]>();

// Keys deleted since the list was last compacted, beyond which it is compacted: a quarter of
// the keys held, and never for fewer than this many.
const MIN_COMPACTION = 1024;

/**
 * A parent GC folds into in place, as it was when a snapshot took it, with what was written
 * over it then (the values of its kids that GC had not folded yet, `overlay`): read by key while
 * the folds go on changing the parent, which tell it the values they replace (`changing`).
 * JSON.stringify sees the object it stands for (`toJSON`); `jsonSlices` walks it a slice at a
 * time. Nothing else should read it: it is not a plain object.
 */
export class BaseReading {
  readonly #base: Readonly<Record<string, JsonValue>>;
  readonly #keys: readonly string[];
  readonly #length: number;
  // What this snapshot holds at keys its parent held no value for.
  readonly #extraKeys: readonly string[];
  readonly #overlay: ReadonlyMap<string, JsonValue | undefined> | undefined;
  // Values of the parent's keys as they were, for the keys changed since (undefined: absent).
  readonly #before = new Map<string, JsonValue | undefined>();
  #ended = false;

  constructor(base: Readonly<Record<string, JsonValue>>, keys: readonly string[], overlay?: ReadonlyMap<string, JsonValue | undefined>) {
    this.#base = base;
    this.#keys = keys;
    this.#length = keys.length;
    this.#overlay = overlay;
    const extra: string[] = [];
    if (overlay !== undefined) for (const key of overlay.keys()) if (!Object.hasOwn(base, key)) extra.push(key);
    this.#extraKeys = extra;
  }

  /** How many keys to walk (`keyAt`); some may hold nothing (`valueOf` is undefined). */
  get size(): number {
    return this.#length + this.#extraKeys.length;
  }

  /** The `index`th key to walk; each key once. */
  keyAt(index: number): string {
    return index < this.#length ? this.#keys[index]! : this.#extraKeys[index - this.#length]!;
  }

  /** The value at `key` when the snapshot was taken; undefined for none. */
  valueOf(key: string): JsonValue | undefined {
    if (this.#overlay !== undefined && this.#overlay.has(key)) return this.#overlay.get(key);
    if (this.#before.has(key)) return this.#before.get(key);
    return Object.hasOwn(this.#base, key) ? this.#base[key] : undefined;
  }

  /** A fold is about to change `key` of the parent, which holds `old` there now. */
  changing(key: string, old: JsonValue | undefined): void {
    if (!this.#before.has(key)) this.#before.set(key, old);
  }

  /** Whether its snapshot was written (see SnapshotReadings). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Its snapshot was written: not read again. */
  end(): void {
    this.#ended = true;
    this.#before.clear();
  }

  /** The object this stands for, for JSON.stringify: the parent itself while nothing changed it. */
  toJSON(): Readonly<Record<string, JsonValue>> {
    if (this.#before.size === 0 && this.#overlay === undefined) return this.#base;
    const object: Record<string, JsonValue> = {};
    for (let i = 0; i < this.size; i++) {
      const key = this.keyAt(i);
      const value = this.valueOf(key);
      if (value !== undefined) object[key] = value;
    }
    return object;
  }
}

/**
 * The keys of one base, in a list that only grows between compactions: a key deleted stays in
 * it (and is remembered as gone) until enough are gone to rebuild it, and a gone key added again
 * is not listed twice. The list therefore holds every key of the base, once, plus the gone ones.
 * It also knows the snapshots still reading the base (`read`), to tell them of every change.
 */
export class BaseKeys {
  #list: string[];
  readonly #gone: Set<string>;
  // The list's length when it was last trimmed (see `trim`) or made.
  #trimmedAt: number;
  // Snapshots reading the base.
  readonly #readings = new LiveReadings<JsonValue | undefined>();

  /** `keys`: the base's keys, taken over (not copied). */
  constructor(keys: string[], gone: Set<string> = new Set()) {
    this.#list = keys;
    this.#gone = gone;
    this.#trimmedAt = keys.length;
  }

  /** `key` of `base` (the object these are the keys of) is about to change: the readings keep what it holds now. */
  changing(key: string, base: Readonly<Record<string, JsonValue>>): void {
    if (!this.#readings.empty) this.#readings.changing(key, Object.hasOwn(base, key) ? base[key] : undefined);
  }

  /**
   * The list as it is now: every key of the base, each once, and perhaps some it no longer holds;
   * read up to its length now (it may grow after, or be replaced by a compaction).
   */
  keys(): readonly string[] {
    return this.#list;
  }

  /** Drops the room the list grew into beyond its keys, once it has grown by half since (as KeyTimes.trim). */
  trim(): void {
    if (this.#list.length < MIN_COMPACTION || this.#list.length < 1.5 * this.#trimmedAt) return;
    // A new array: a reading may hold the old one.
    this.#list = this.#list.slice();
    this.#trimmedAt = this.#list.length;
  }

  /** `key` was added to the base (it did not hold it). */
  added(key: string): void {
    if (!this.#gone.delete(key)) this.#list.push(key);
  }

  /** `key` was deleted from the base (it held it), which holds `count` keys now. */
  removed(key: string, count: number): void {
    this.#gone.add(key);
    if (this.#gone.size > MIN_COMPACTION + count / 4) {
      // A new array, not the old one filtered in place: a snapshot may still be reading the old.
      this.#list = this.#list.filter((listed) => !this.#gone.has(listed));
      this.#gone.clear();
    }
  }

  /** The same keys, for a copy of the base (no reading of this base reads the copy). */
  copy(): BaseKeys {
    return new BaseKeys(this.#list.slice(), new Set(this.#gone));
  }

  /** `base` (the object these are the keys of) as it is now, with `overlay` over it, for a snapshot. */
  read(base: Readonly<Record<string, JsonValue>>, overlay?: ReadonlyMap<string, JsonValue | undefined>): BaseReading {
    const reading = new BaseReading(base, this.#list, overlay);
    this.#readings.add(reading);
    return reading;
  }

  /**
   * Lists these keys for `base`, frozen and handed out (the next fold copies it: these stay its
   * keys), to whoever encodes it (`listedKeysOf`).
   */
  listFor(base: object): void {
    listedKeys.set(base, this.#list);
  }
}

/**
 * The keys of `object` as a fold listed them (see BaseKeys.listFor), each once, in no
 * particular order, with perhaps some the object no longer holds; undefined for any other object.
 */
export function listedKeysOf(object: object): readonly string[] | undefined {
  return listedKeys.get(object);
}
