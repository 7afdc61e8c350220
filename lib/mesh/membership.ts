import { CEILING_NODE, compareStamps, type NodeId, type Stamp } from '../core/clock.js';
import type { Logger } from '../log.js';
import { computeHorizon, type Frontier } from '../core/horizon.js';
import type { Replica } from '../core/replica.js';
import { MAX_GROUP_IDS, type GroupMessage, type VectorMessage } from '../wire/peer.js';

/**
 * How often linked hubs tell each other their frontier, and fold what all have seen: often
 * enough that op records die young (cheap for the garbage collector) instead of piling up
 * between anti-entropy rounds.
 */
export const GC_PACE_MS = 100;

/**
 * How far behind wall time linked hubs fold at the latest. It covers a joining hub's writes
 * while the group learns of it, provided hub clocks agree within about this (NTP does).
 */
export const GC_LAG_MS = 250;

/**
 * Who is in the group of hubs, as far as GC is concerned, and their latest frontiers.
 *
 * Folding ops away is only safe once every hub that may still send one of them has been heard
 * from (core/horizon.ts). So membership is sticky: a hub that linked with anyone in the group
 * stays a member (hubs tell each other whom they count) until it is known to be gone for good,
 * which is when its address answers with another id (it restarted without its state; hubs tell
 * each other that too). A member that is down, or that this hub cannot hear from, stops GC
 * here until it is back: metadata then grows, and nothing is ever folded unsafely.
 *
 * Where each member lives (the address it was reached at, or says it listens at) is told around
 * the group too: the hub that later reaches that address and finds another id there may never
 * have met the one before, and still has to retire it; and the hub that lives there now, told
 * that an earlier id lived at its address, retires it itself. An address names one host for
 * the whole group (every hub dials every other at the same addresses).
 */
export class Membership {
  readonly #self: NodeId;
  readonly #members = new Set<NodeId>();
  readonly #retired = new Set<NodeId>();
  readonly #frontiers = new Map<NodeId, { frontier: Frontier; at: number }>();
  // Who lives where: per address, the ids met there (the latest, and any not yet retired).
  readonly #places = new Map<string, Set<NodeId>>();
  // The addresses the group reaches this hub at (others tell it): any other id there is an
  // earlier life of this address, gone for good.
  readonly #own = new Set<string>();
  // Told when what `group()` returns changed (who counts, who is retired, who lives where).
  readonly #onChange: (() => void) | undefined;

  /** `onChange` is called whenever what `group()` returns changed (to keep it on disk). */
  constructor(self: NodeId, onChange?: () => void) {
    this.#self = self;
    this.#onChange = onChange;
  }

  /** A hub linked with this one. */
  join(id: NodeId): void {
    if (id === this.#self || this.#retired.has(id) || this.#members.has(id) || this.#members.size >= MAX_GROUP_IDS) return;
    this.#members.add(id);
    this.#onChange?.();
  }

  /** An address that answered as `before` now answers as `now`: `before` is gone for good. */
  replaced(before: NodeId, now: NodeId): void {
    this.#retire(before);
    this.join(now);
  }

  #retire(id: NodeId): void {
    if (id === this.#self || this.#retired.has(id) || this.#retired.size >= MAX_GROUP_IDS) return;
    this.#retired.add(id);
    this.#members.delete(id);
    this.#frontiers.delete(id);
    for (const [address, ids] of this.#places) if (ids.delete(id) && ids.size === 0) this.#places.delete(address);
    this.#onChange?.();
  }

  /**
   * Ids this hub's state was kept under before (it restarted from its `persist` directory under
   * a new id): gone for good, whether or not anyone met them. Their ops may reach the group
   * only through this hub now.
   */
  predecessors(ids: readonly NodeId[]): void {
    for (const id of ids) this.#retire(id);
  }

  /** `id` lives at `address` (it says it listens there, or someone reached it there). */
  livesAt(id: NodeId, address: string): void {
    if (id === this.#self) {
      if (this.#own.size < MAX_GROUP_IDS) this.#own.add(address);
      for (const other of this.#places.get(address) ?? []) this.replaced(other, this.#self);
      return;
    }
    if (this.#retired.has(id)) return;
    if (this.#own.has(address)) {
      // This hub lives there now: that id was an earlier life of its address.
      this.replaced(id, this.#self);
      return;
    }
    let ids = this.#places.get(address);
    if (ids === undefined) {
      if (this.#places.size >= MAX_GROUP_IDS) return;
      this.#places.set(address, (ids = new Set()));
    }
    if (ids.has(id)) return;
    ids.add(id);
    this.#onChange?.();
  }

  /**
   * This hub reached `address` and `id` answered: every other id met there is gone for good
   * (it restarted without its state), whether this hub met it or heard of it.
   */
  reached(id: NodeId, address: string): NodeId[] {
    const before = [...(this.#places.get(address) ?? [])].filter((other) => other !== id);
    for (const other of before) this.replaced(other, id);
    const known = this.#places.get(address);
    if (known?.size === 1 && known.has(id)) return before;
    this.#places.set(address, new Set([id]));
    this.#onChange?.();
    return before;
  }

  /** What a peer knows of the group: whom it counts as members or retired, and where they live. */
  heardGroup(group: GroupMessage): void {
    for (const id of group.retired) this.#retire(id);
    for (const id of group.members) this.join(id);
    for (const [id, address] of group.places ?? []) this.livesAt(id, address);
  }

  /** A peer's vector message: its frontier, and what it knows of the group (`heardGroup`). */
  heard(from: NodeId, message: VectorMessage, now: number): void {
    this.heardGroup(message);
    if (this.#members.has(from)) {
      const frontier: Frontier = { id: from, clock: message.clock, vector: message.vector, ...(message.held === undefined ? {} : { held: message.held }) };
      this.#frontiers.set(from, { frontier, at: now });
    }
  }

  /** What this hub sends in its vector messages. */
  message(replica: Replica): VectorMessage {
    const { vector, clock, held, folded } = replica.frontier();
    return { vector, clock, held, folded, ...this.group() };
  }

  /** What this hub knows of the group: sent before what a peer lacks of others' ops. */
  group(): GroupMessage {
    const places: [NodeId, string][] = [];
    for (const [address, ids] of this.#places) for (const id of ids) places.push([id, address]);
    return { members: [this.#self, ...this.#members], retired: [...this.#retired], places };
  }

  /**
   * The horizon this hub may fold at, or undefined when it may not fold now: `ready` is false
   * (a configured peer was never reached), a member's frontier is missing or older than
   * `maxAgeMs`, or some vector holds ops of a hub that is neither a member nor retired (one
   * this hub has not heard of yet).
   */
  horizon(own: Frontier, ready: boolean, maxAgeMs: number, now: number): Stamp | undefined {
    const frontiers = this.#fresh(own, ready, maxAgeMs, now);
    if (frontiers === undefined) return undefined;
    for (const frontier of frontiers) {
      for (const origin of Object.keys(frontier.vector)) {
        if (origin !== this.#self && !this.#members.has(origin as NodeId) && !this.#retired.has(origin as NodeId)) return undefined;
      }
    }
    return computeHorizon(frontiers);
  }

  // This hub's frontier and a recent one of every member, or undefined when one is missing.
  #fresh(own: Frontier, ready: boolean, maxAgeMs: number, now: number): Frontier[] | undefined {
    if (!ready) return undefined;
    const frontiers: Frontier[] = [own];
    for (const id of this.#members) {
      const heard = this.#frontiers.get(id);
      if (heard === undefined || now - heard.at > maxAgeMs) return undefined;
      frontiers.push(heard.frontier);
    }
    return frontiers;
  }

  /**
   * Ops of hubs gone for good that exist nowhere any more, as [origin, seq]: a retired origin
   * of which every member (this hub included) holds the same ops in order up to seq - 1, and
   * some hold ops after it. Nobody alive holds `seq`, and its hub will send nothing again: it
   * was lost with that hub (a link that lost it, a delta cut off, and then the crash). Until
   * it is forgotten, GC would wait for it forever. Only with every member's frontier fresh, as
   * `horizon` needs.
   */
  lost(own: Frontier, ready: boolean, maxAgeMs: number, now: number): [NodeId, number][] {
    const frontiers = this.#fresh(own, ready, maxAgeMs, now);
    if (frontiers === undefined) return [];
    const lost: [NodeId, number][] = [];
    for (const origin of this.#retired) {
      const seq = own.vector[origin]?.seq ?? 0;
      let after = false;
      for (const frontier of frontiers) {
        if ((frontier.vector[origin]?.seq ?? 0) !== seq) {
          after = false;
          break;
        }
        if ((frontier.held?.[origin] ?? 0) > seq) after = true;
      }
      if (after) lost.push([origin, seq + 1]);
    }
    return lost;
  }

  /** Whether `id` is gone for good. */
  isRetired(id: NodeId): boolean {
    return this.#retired.has(id);
  }

  /** `id`'s latest frontier, and when it came (this hub's clock), if it told one. */
  latest(id: NodeId): { readonly frontier: Frontier; readonly at: number } | undefined {
    return this.#frontiers.get(id);
  }

  /** How far `id`'s latest frontier says it has applied `origin`'s ops, if it told one. */
  seenBy(id: NodeId, origin: string): number | undefined {
    const heard = this.#frontiers.get(id);
    return heard === undefined ? undefined : (heard.frontier.vector[origin]?.seq ?? 0);
  }

  /** How many hubs this one counts as members besides itself, and how many as retired. */
  get counts(): { members: number; retired: number } {
    return { members: this.#members.size, retired: this.#retired.size };
  }
}

/**
 * The GC horizon a hub of `membership`'s group may fold at now, or undefined; for either tier
 * between hubs (the TCP mesh, Redis). `ready`: the tier has reached everyone it was told of.
 * First forgets the ops lost with a hub gone for good (Membership.lost), then takes the horizon
 * of every member's frontier, never later than GC_LAG_MS behind wall time: a hub joining right
 * now (the group not yet told of it) stamps its writes at about now.
 */
export function groupHorizon(membership: Membership, replica: Replica, ready: boolean, maxAgeMs: number, now: number, log: Logger): Stamp | undefined {
  for (const [origin, seq] of membership.lost(replica.frontier(), ready, maxAgeMs, now)) {
    if (replica.forgetLost(origin, seq)) log('op %s#%d was lost with its hub: nobody alive holds it; moving past it', origin, seq);
  }
  const horizon = membership.horizon(replica.frontier(), ready, maxAgeMs, now);
  if (horizon === undefined) return undefined;
  const lag: Stamp = { wall: now - GC_LAG_MS, count: 0, node: CEILING_NODE };
  return compareStamps(horizon, lag) < 0 ? horizon : lag;
}
