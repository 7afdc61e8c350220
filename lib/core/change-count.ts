import type { ExpirySchedule } from './expiry-schedule.js';
import { NOT_HOLDING, UNTIMED, type ReadTime } from './read-time.js';

// The last count handed out, counted across trees: a tree made to replace another (a snapshot
// adopted) never repeats a count a read was kept at.
let lastCount = 0;

/**
 * A tree's count of changes, for caches of its reads (ReadCache): it moves with whatever may
 * change what a read returns, but for time passing. A read made while it stands holds until
 * the earliest expiry armed at that count comes by the read time (one that came hides its
 * value before a timer takes it off the schedule).
 */
export class ChangeCount {
  /** The current count. */
  value = ++lastCount;
  // The earliest expiry armed (Infinity: none) when the count stood at #dueAt.
  #due = Number.POSITIVE_INFINITY;
  #dueAt = 0;
  // UNTIMED while nothing is armed at this count; else the read epoch in which #due was last
  // found still to come (see ReadTime), so that `holds` tests a field, as a timed view's read.
  #dueEpoch = NOT_HOLDING;

  /** Something may have changed what reads return: a new count, its expiries to be found. */
  changed(): void {
    this.value = ++lastCount;
    this.#dueEpoch = NOT_HOLDING;
  }

  /** Whether a read made at `count` returns the same now, by `time` and the tree's `schedule`. */
  holds(count: number, time: ReadTime, schedule: ExpirySchedule): boolean {
    if (count !== this.value) return false;
    const epoch = this.#dueEpoch;
    return epoch === UNTIMED || epoch === time.holdingEpoch || this.#dueToCome(time, schedule);
  }

  // Whether the earliest expiry armed at this count is still to come by the read time; if so,
  // stamped with the epoch (which ends when the read time reaches it).
  #dueToCome(time: ReadTime, schedule: ExpirySchedule): boolean {
    if (this.#dueAt !== this.value) {
      this.#due = schedule.nextDue() ?? Number.POSITIVE_INFINITY;
      this.#dueAt = this.value;
    }
    if (this.#due === Number.POSITIVE_INFINITY) {
      this.#dueEpoch = UNTIMED;
      return true;
    }
    if (time.now() >= this.#due) return false;
    this.#dueEpoch = time.holds(this.#due);
    return true;
  }
}
