// From this many readings, adding one first drops those no longer alive.
const SWEEP_FROM = 16;

/** What a snapshot reading a structure in place keeps: the old value of each key changed after it. */
export interface Reading<V> {
  changing(key: string, old: V): void;
}

/**
 * The snapshots still reading a structure that goes on changing in place (a parent GC folds
 * into, a table of expiry times): told of each change, so that each reads the structure as it
 * was when it was taken. Held weakly: nothing tells when a snapshot is done (it is once its text
 * is written, or its link gone, and then nobody holds it).
 */
export class LiveReadings<V> {
  #refs: WeakRef<Reading<V>>[] = [];

  /** Whether no reading may still be alive (then nothing needs to be told). */
  get empty(): boolean {
    return this.#refs.length === 0;
  }

  add(reading: Reading<V>): void {
    // Dead ones go at the next change; a structure that never changes drops them here.
    if (this.#refs.length >= SWEEP_FROM) this.#refs = this.#refs.filter((ref) => ref.deref() !== undefined);
    this.#refs.push(new WeakRef(reading));
  }

  /** `key` is about to change from `old`: every reading still alive keeps it. */
  changing(key: string, old: V): void {
    let live = 0;
    for (const ref of this.#refs) {
      const reading = ref.deref();
      if (reading === undefined) continue;
      reading.changing(key, old);
      this.#refs[live++] = ref;
    }
    this.#refs.length = live;
  }
}
