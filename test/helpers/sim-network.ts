import { BaseLink } from '../../lib/links/link.js';
import type { WirePeerFrame } from '../../lib/wire/peer.js';
import type { Random } from './random.js';
import type { VirtualTime } from './virtual-time.js';

/** How the simulated network misbehaves; every probability is per frame. */
export interface NetworkFaults {
  /** A frame vanishes, the link staying up. */
  loss: number;
  /** A frame arrives twice. */
  duplicate: number;
  /** A frame ignores the order of the frames before it (arrives by its own delay). */
  reorder: number;
  /** The longest delay of a frame, ms (each draws 1..this). */
  maxDelayMs: number;
}

/** No misbehaving (delays stay): the network once faults stop. */
export const CALM: NetworkFaults = { loss: 0, duplicate: 0, reorder: 0, maxDelayMs: 5 };

/** What the network tells its owner of each frame it carries. */
export interface FrameObserver {
  /** A frame left `from` (before any fault applies); `deliver` runs if it arrives. */
  sent(link: SimLink, frame: WirePeerFrame): ((delivered: SimLink) => void) | undefined;
  /** Wraps each arrival: `deliver()` hands `message` to the end `to` (checks may run around it). */
  arrive?(to: SimLink, message: unknown, deliver: () => void): void;
}

/**
 * A simulated network between hubs, in virtual time: links whose frames are delayed, lost,
 * duplicated and reordered at random, pairs of hosts cut apart (frames wait, as TCP retries,
 * until the cut heals or the link dies), links broken (both ends see a reset, what was in
 * flight is lost), and hosts that die (their links reset).
 */
export class SimNetwork {
  readonly time: VirtualTime;
  readonly rng: Random;
  faults: NetworkFaults;
  readonly #cuts = new Set<string>();
  readonly #links = new Set<SimLink>();
  readonly #observer: FrameObserver;
  /** Frames waiting on a cut, per link, in order. */
  readonly #held = new Map<SimLink, { text: string; onDelivered: ((delivered: SimLink) => void) | undefined }[]>();
  /** How many frames the faults touched. */
  readonly faultsSeen = { lost: 0, duplicated: 0, reordered: 0 };

  constructor(time: VirtualTime, rng: Random, faults: NetworkFaults, observer: FrameObserver) {
    this.time = time;
    this.rng = rng;
    this.faults = faults;
    this.#observer = observer;
  }

  #pair(a: number, b: number): string {
    return `${Math.min(a, b)}|${Math.max(a, b)}`;
  }

  /** Whether hosts `a` and `b` are cut apart. */
  isCut(a: number, b: number): boolean {
    return this.#cuts.has(this.#pair(a, b));
  }

  cut(a: number, b: number): void {
    this.#cuts.add(this.#pair(a, b));
  }

  /** Heals every cut; frames that waited are delivered (on links still up). */
  heal(): void {
    this.#cuts.clear();
    for (const [link, frames] of this.#held) {
      this.#held.delete(link);
      for (const { text, onDelivered } of frames) this.#schedule(link, text, onDelivered, this.time.now + 1 + this.rng.int(0, this.faults.maxDelayMs));
    }
  }

  get cuts(): number {
    return this.#cuts.size;
  }

  /** Two connected ends: one on host `from` (its dialer), one on host `to`. */
  connect(from: number, to: number, label: string): [SimLink, SimLink] {
    const a = new SimLink(this, from, to, `out:${label}`);
    const b = new SimLink(this, to, from, `in:${label}`);
    a.other = b;
    b.other = a;
    this.#links.add(a);
    this.#links.add(b);
    return [a, b];
  }

  /** The links open now. */
  open(): SimLink[] {
    return [...this.#links].filter((link) => !link.closed);
  }

  /** Breaks a link: both ends see a reset; what was in flight is lost. */
  break(link: SimLink): void {
    link.close(reset());
  }

  /** A host died: every link of it resets, at once on its side, after a delay on the other. */
  kill(host: number): void {
    for (const link of this.open()) if (link.host === host) link.close(reset());
  }

  /** @internal A frame sent on `link`. */
  carry(link: SimLink, frame: WirePeerFrame): void {
    const text = JSON.stringify(frame);
    const onDelivered = this.#observer.sent(link, frame);
    const faults = this.faults;
    if (this.rng.chance(faults.loss)) {
      this.faultsSeen.lost++;
      return;
    }
    const delay = 1 + this.rng.int(0, faults.maxDelayMs);
    const fifo = !this.rng.chance(faults.reorder);
    if (!fifo) this.faultsSeen.reordered++;
    const at = fifo ? Math.max(this.time.now + delay, link.lastArrival) : this.time.now + delay;
    if (fifo) link.lastArrival = at;
    this.#schedule(link, text, onDelivered, at);
    if (this.rng.chance(faults.duplicate)) {
      this.faultsSeen.duplicated++;
      this.#schedule(link, text, undefined, at);
    }
  }

  #schedule(link: SimLink, text: string, onDelivered: ((delivered: SimLink) => void) | undefined, at: number): void {
    this.time.schedule(at, () => {
      const to = link.other!;
      if (link.closed || to.closed) return;
      if (this.isCut(link.host, to.host)) {
        // TCP keeps retrying under a cut: the frame waits for the heal (or dies with the link).
        let held = this.#held.get(link);
        if (held === undefined) this.#held.set(link, (held = []));
        held.push({ text, onDelivered });
        return;
      }
      onDelivered?.(to);
      const message: unknown = JSON.parse(text);
      if (this.#observer.arrive === undefined) to.receive(message);
      else this.#observer.arrive(to, message, () => to.receive(message));
    });
  }

  /** @internal One end closed: the other learns it after a delay (a FIN, or a reset). */
  closed(link: SimLink, reason: Error | undefined): void {
    this.#links.delete(link);
    this.#held.delete(link);
    const other = link.other;
    if (other === undefined || other.closed) return;
    // The other side of a reset sees a reset; of a clean close, a clean close.
    const seen = reason !== undefined && (reason as { code?: unknown }).code === 'ECONNRESET' ? reset() : undefined;
    this.time.schedule(this.time.now + 1 + this.rng.int(0, this.faults.maxDelayMs), () => other.close(seen));
  }
}

function reset(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
}

/** One end of a simulated link between two hosts: carries peer frames as JSON text. */
export class SimLink extends BaseLink<WirePeerFrame> {
  label: string;
  readonly host: number;
  readonly peerHost: number;
  other: SimLink | undefined;
  /** When the last in-order frame sent on this end arrives (FIFO). */
  lastArrival = 0;
  readonly #network: SimNetwork;

  constructor(network: SimNetwork, host: number, peerHost: number, label: string) {
    super();
    this.#network = network;
    this.host = host;
    this.peerHost = peerHost;
    this.label = label;
  }

  send(frame: WirePeerFrame): boolean {
    if (this.closed) return false;
    this.#network.carry(this, frame);
    return true;
  }

  /** @internal A frame arrived from the other end. */
  receive(message: unknown): void {
    this.deliver(message);
  }

  protected release(): void {
    // `close(reason)` emits after release; the network needs the reason: see close().
  }

  override close(reason?: Error): void {
    if (this.closed) return;
    super.close(reason);
    this.#network.closed(this, reason);
  }
}
