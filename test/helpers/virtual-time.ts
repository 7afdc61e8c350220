import type { MeshClock } from '../../lib/mesh/clock.js';

interface Scheduled {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * Virtual time: events run in time order (ties in the order they were scheduled), and time
 * moves only when told to. Everything the shipping protocol waits for (timeouts, heartbeats,
 * anti-entropy rounds, GC pace, batching per turn) runs on it through `clock()`, so a run is
 * a pure function of its seed.
 */
export class VirtualTime {
  now: number;
  #heap: Scheduled[] = [];
  #order = 0;

  constructor(start = 0) {
    this.now = start;
  }

  /** Runs `run` at virtual time `at` (not before now); returns the function that cancels it. */
  schedule(at: number, run: () => void): () => void {
    const event: Scheduled = { at: Math.max(at, this.now), order: this.#order++, run, cancelled: false };
    this.#push(event);
    return () => {
      event.cancelled = true;
    };
  }

  /** Runs every event due up to `until`, then sets the time to `until`. */
  advance(until: number): void {
    for (let next = this.#peek(); next !== undefined && next.at <= until; next = this.#peek()) {
      this.#pop();
      if (next.cancelled) continue;
      this.now = next.at;
      next.run();
    }
    if (until > this.now) this.now = until;
  }

  /** When the next event is due, if one waits. */
  get nextAt(): number | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0]?.at;
  }

  /** Whether any event is waiting. */
  get idle(): boolean {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap.length === 0;
  }

  /**
   * A MeshClock on this time: `now()` reads it shifted by `skew()` (a hub's wall clock), timers
   * run in virtual time, `defer` runs at the end of the current instant. `stop()` cancels every
   * timer it ever set (a process that dies).
   */
  clock(skew: () => number): MeshClock & { stop(): void } {
    const cancels = new Set<() => void>();
    let stopped = false;
    const track = (cancel: () => void): (() => void) => {
      cancels.add(cancel);
      return () => {
        cancel();
        cancels.delete(cancel);
      };
    };
    return {
      now: () => this.now + skew(),
      every: (ms, callback) => {
        let cancel = (): void => undefined;
        const tick = (): void => {
          cancels.delete(cancel);
          if (stopped) return;
          cancel = track(this.schedule(this.now + ms, tick));
          callback();
        };
        cancel = track(this.schedule(this.now + ms, tick));
        return () => cancel();
      },
      after: (ms, callback) => track(this.schedule(this.now + ms, () => !stopped && callback())),
      defer: (callback) => {
        track(this.schedule(this.now, () => !stopped && callback()));
      },
      stop: () => {
        stopped = true;
        for (const cancel of cancels) cancel();
        cancels.clear();
      },
    };
  }

  #less(a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  #peek(): Scheduled | undefined {
    return this.#heap[0];
  }

  #push(event: Scheduled): void {
    const heap = this.#heap;
    heap.push(event);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#less(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#less(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
