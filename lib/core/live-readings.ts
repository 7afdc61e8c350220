// From this many readings, adding one first drops those no longer alive.
const SWEEP_FROM = 16;

/** What a snapshot reading a structure in place keeps: the old value of each key changed after it. */
export interface Reading<V> {
  changing(key: string, old: V): void;
  /** Whether the snapshot was written (SnapshotReadings.end): told of nothing any more. */
  readonly ended: boolean;
}

/**
 * The snapshots still reading a structure that goes on changing in place (a parent GC folds
 * into, a table of expiry times): told of each change, so that each reads the structure as it
 * was when it was taken. A reading is told until its snapshot says it was written (`ended`), or
 * until nobody holds it (held weakly: a snapshot whose link went away mid-way says nothing).
 */
export class LiveReadings<V> {
  #refs: WeakRef<Reading<V>>[] = [];

  /** Whether no reading may still be alive (then nothing needs to be told). */
  get empty(): boolean {
    return this.#refs.length === 0;
  }

  add(reading: Reading<V>): void {
    // Dead or ended ones go at the next change; a structure that never changes drops them here.
    if (this.#refs.length >= SWEEP_FROM) this.#refs = this.#refs.filter((ref) => ref.deref()?.ended === false);
    this.#refs.push(new WeakRef(reading));
  }

  /** `key` is about to change from `old`: every reading still alive keeps it. */
  changing(key: string, old: V): void {
    let live = 0;
    for (const ref of this.#refs) {
      const reading = ref.deref();
      if (reading === undefined || reading.ended) continue;
      reading.changing(key, old);
      this.#refs[live++] = ref;
    }
    this.#refs.length = live;
  }
}

/** A reading a snapshot took, ended once the snapshot is written. */
export interface EndingReading {
  /** The snapshot was written: the reading is not read again, and keeps nothing more. */
  end(): void;
}

/**
 * The readings one snapshot took of the structures it reads in place, ended together once its
 * text is written. Until then every change of those structures copies what it replaces into
 * them; left to the garbage collector, a reading of a parent of a million keys went on copying
 * for as long as V8 kept it (each GC round after a worker's respawn took 11-57 ms longer).
 */
export class SnapshotReadings {
  #readings: EndingReading[] = [];

  /** Takes `reading` in; returns it. */
  add<R extends EndingReading>(reading: R): R {
    this.#readings.push(reading);
    return reading;
  }

  /** The snapshot was written: ends every reading it took. */
  end(): void {
    for (const reading of this.#readings) reading.end();
    this.#readings = [];
  }
}
