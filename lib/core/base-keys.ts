// The keys of a parent GC folds into in place (TreeNode.foldBase), listed as the folds add them:
// a snapshot of a parent of a million keys walks this list a slice at a time, where
// `Object.keys` of the object would stop the event loop for about half a second.

// Objects handed to a snapshot, with their listed keys (see `listedKeysOf`).
const listedKeys = new WeakMap<object, readonly string[]>();

// Keys deleted since the list was last compacted, beyond which it is compacted: a quarter of
// the keys held, and never for fewer than this many.
const MIN_COMPACTION = 1024;

/**
 * The keys of one base, in a list that only grows between compactions: a key deleted stays in
 * it (and is remembered as gone) until enough are gone to rebuild it, and a gone key added again
 * is not listed twice. The list therefore holds every key of the base, once, plus the gone ones.
 */
export class BaseKeys {
  #list: string[];
  readonly #gone: Set<string>;

  /** `keys`: the base's keys, taken over (not copied). */
  constructor(keys: string[], gone: Set<string> = new Set()) {
    this.#list = keys;
    this.#gone = gone;
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

  /** The same keys, for a copy of the base (this list may be held by a snapshot meanwhile). */
  copy(): BaseKeys {
    return new BaseKeys(this.#list.slice(), new Set(this.#gone));
  }

  /**
   * Lists these keys for `base` (the object they are the keys of) to whoever encodes it while
   * it does not change (`listedKeysOf`): a snapshot.
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
