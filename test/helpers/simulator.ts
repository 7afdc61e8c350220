/**
 * A deterministic network of replicas: no sockets, no real time. Every source of
 * nondeterminism (which link delivers next, drops, duplicates, partitions, clock skew and
 * backward jumps, crashes) is drawn from one seeded PRNG, so a failing seed replays exactly.
 *
 * Links model hub-to-hub TCP: per direction FIFO; a cut or a drop loses what was in flight,
 * and the receiver finds out from a sequence gap, or at the next (re)sync.
 */
import { computeHorizon, type Frontier } from '../../lib/core/horizon.js';
import type { NodeId } from '../../lib/core/clock.js';
import type { Op } from '../../lib/core/op.js';
import { decodeDelta, encodeDelta } from '../../lib/core/delta.js';
import { Replica } from '../../lib/core/replica.js';
import { decodeOp, decodeVector, encodeOp, encodeVector } from '../../lib/core/codec.js';
import type { Stamp } from '../../lib/core/clock.js';
import { Membership } from '../../lib/roles/membership.js';
import { decodeVectorMessage, encodeVectorMessage } from '../../lib/wire/peer.js';
import { oracleState } from './oracle.js';
import { Random } from './random.js';

type Message =
  | { type: 'ops'; ops: unknown[] }
  | { type: 'sync'; vector: Record<string, { seq: number }> }
  | { type: 'delta'; delta: string; log: Map<string, Op> }
  // A delta in pieces, as the TCP tier sends it: other links' messages can come in between.
  | { type: 'delta-ops'; clock: Stamp; ops: unknown[] }
  | { type: 'delta-end'; vector: string }
  // GC by gossip: a replica's frontier and whom it counts as members (the hubs' vector message).
  | { type: 'frontier'; sender: NodeId; message: string };

interface Peer {
  slot: number;
  replica: Replica;
  skew: number;
  /** Every op this replica has applied or inherited from a snapshot: its oracle input. */
  log: Map<string, Op>;
  outbox: Op[];
  /** GC by gossip: whom this replica counts as members, and their frontiers. */
  membership: Membership;
  /** GC by gossip: the id last heard from each slot (the hubs' addresses). */
  known: Map<number, NodeId>;
}

/**
 * How GC rounds decide their horizon. `global`: from every live replica's current frontier at
 * once (the core's contract, checked on its own). `gossip`: each replica on its own, from the
 * frontiers it received in messages, with sticky membership and retirement when a slot answers
 * with a new id: what linked hubs do (roles/membership.ts). An op that reaches a replica below
 * the horizon it folded at counts in `lateOps`: it must never happen.
 */
export type GcMode = 'global' | 'gossip';

export interface SimulationResult {
  seed: number;
  steps: number;
  writes: number;
  crashes: number;
  snapshots: number;
  collections: number;
  gaps: number;
  staleWrites: number;
  lateOps: number;
}

// Frontiers older than this (in simulated ms) do not count for a gossip GC round.
const FRONTIER_MAX_AGE = 100;

const KEYS = ['a', 'b', 'c'];
const opKey = (op: Op): string => `${op.stamp.node}#${op.seq}`;

export class Simulation {
  readonly rng: Random;
  readonly seed: number;
  time = 1_000;
  readonly peers = new Map<number, Peer>();
  readonly links = new Map<string, Message[]>();
  readonly cuts = new Set<string>();
  /** Per link, the delta being received in pieces. */
  readonly #receiving = new Map<string, ReturnType<Replica['receiveDelta']>>();
  /** Writes that at least two replicas held when one of them crashed: they must survive. */
  readonly acknowledged = new Map<string, Op>();
  stats: SimulationResult;
  readonly gc: GcMode;
  #nextSlot = 0;
  #dropping = true;

  constructor(seed: number, gc: GcMode = 'global') {
    this.seed = seed;
    this.gc = gc;
    this.rng = new Random(seed);
    this.stats = { seed, steps: 0, writes: 0, crashes: 0, snapshots: 0, collections: 0, gaps: 0, staleWrites: 0, lateOps: 0 };
    const count = this.rng.int(3, 5);
    for (let i = 0; i < count; i++) this.#spawn();
  }

  #spawn(slot = this.#nextSlot++): Peer {
    const peer: Peer = {
      slot,
      skew: this.rng.int(-200, 200),
      log: new Map(),
      outbox: [],
      replica: undefined as unknown as Replica,
      membership: undefined as unknown as Membership,
      known: new Map(),
    };
    peer.replica = new Replica({ id: `r${slot}x${this.seed}g${this.stats.crashes}` as NodeId, now: () => this.time + peer.skew });
    peer.membership = new Membership(peer.replica.id);
    this.peers.set(slot, peer);
    return peer;
  }

  #link(from: number, to: number): string {
    return `${from}>${to}`;
  }

  #isCut(from: number, to: number): boolean {
    return this.cuts.has(`${Math.min(from, to)}|${Math.max(from, to)}`);
  }

  #send(from: number, to: number, message: Message): void {
    if (this.#isCut(from, to)) return;
    const key = this.#link(from, to);
    (this.links.get(key) ?? this.links.set(key, []).get(key)!).push(message);
  }

  #write(peer: Peer): void {
    const path = Array.from({ length: this.rng.int(1, 3) }, () => this.rng.pick(KEYS));
    const replica = peer.replica;
    let op: Op;
    switch (this.rng.int(0, 5)) {
      case 0:
      case 1:
        op = replica.set(path, this.#value());
        break;
      case 2:
        op = replica.delete(path);
        break;
      case 3:
      case 4:
        op = replica.incr(path, this.rng.int(-2, 5));
        break;
      default:
        op = replica.append(path, this.#value());
    }
    peer.log.set(opKey(op), op);
    peer.outbox.push(op);
    this.stats.writes++;
  }

  #value(): unknown {
    switch (this.rng.int(0, 3)) {
      case 0:
        return this.rng.int(-9, 9);
      case 1:
        return this.rng.pick(['x', 'y', 'z']);
      case 2:
        return { [this.rng.pick(KEYS)]: this.rng.int(0, 3), [this.rng.pick(KEYS)]: { [this.rng.pick(KEYS)]: 'deep' } };
      default:
        return null;
    }
  }

  #flush(peer: Peer): void {
    if (peer.outbox.length === 0) return;
    const wire = peer.outbox.map(encodeOp);
    peer.outbox = [];
    for (const other of this.peers.keys()) if (other !== peer.slot) this.#send(peer.slot, other, { type: 'ops', ops: wire });
  }

  #requestSync(peer: Peer, from: number): void {
    this.#send(peer.slot, from, { type: 'sync', vector: peer.replica.vector() });
  }

  #deliver(key: string): void {
    const queue = this.links.get(key)!;
    const message = queue.shift()!;
    const [from, to] = key.split('>').map(Number) as [number, number];
    const receiver = this.peers.get(to);
    if (receiver === undefined || !this.peers.has(from)) return;
    if (this.#dropping && this.rng.chance(0.04)) {
      // A loss breaks the link, as with TCP: what was queued behind it is lost too, and a delta
      // received halfway stays halfway (its end never comes on this link).
      queue.length = 0;
      this.#receiving.delete(key);
      return;
    }
    if (this.#dropping && this.rng.chance(0.04)) queue.unshift(message); // delivered twice
    // A message is a link with its sender: the hubs' handshake, where membership starts.
    this.#contact(receiver, from, this.peers.get(from)!.replica.id);
    switch (message.type) {
      case 'ops': {
        // Through JSON and the decoder, as a real link would carry it.
        const ops = (JSON.parse(JSON.stringify(message.ops)) as unknown[]).map((op) => decodeOp(op, receiver.replica.limits));
        this.#countLate(receiver, ops);
        for (const op of ops) {
          const result = receiver.replica.apply(op);
          if (result === 'applied') receiver.log.set(opKey(op), op);
          if (result === 'gap') {
            this.stats.gaps++;
            this.#requestSync(receiver, from);
            break;
          }
        }
        break;
      }
      case 'sync': {
        const delta = receiver.replica.delta(message.vector);
        if (delta.kind === 'snapshot') {
          this.stats.snapshots++;
          this.#send(to, from, { type: 'delta', delta: JSON.stringify(encodeDelta(delta)), log: new Map(receiver.log) });
        } else if (this.rng.chance(0.5)) {
          this.#send(to, from, { type: 'delta', delta: JSON.stringify(encodeDelta(delta)), log: new Map(receiver.log) });
        } else {
          const half = Math.ceil(delta.ops.length / 2);
          for (const part of [delta.ops.slice(0, half), delta.ops.slice(half)]) {
            this.#send(to, from, { type: 'delta-ops', clock: delta.clock, ops: part.map(encodeOp) });
          }
          this.#send(to, from, { type: 'delta-end', vector: JSON.stringify(encodeVector(delta.vector)) });
        }
        break;
      }
      case 'delta-ops': {
        let receiving = this.#receiving.get(key);
        if (receiving === undefined) this.#receiving.set(key, (receiving = receiver.replica.receiveDelta(message.clock)));
        const ops = (JSON.parse(JSON.stringify(message.ops)) as unknown[]).map((op) => decodeOp(op, receiver.replica.limits));
        this.#countLate(receiver, ops);
        receiving.apply(ops);
        for (const op of ops) receiver.log.set(opKey(op), op);
        break;
      }
      case 'delta-end': {
        const receiving = this.#receiving.get(key) ?? receiver.replica.receiveDelta({ wall: 0, count: 0, node: receiver.replica.id });
        this.#receiving.delete(key);
        receiving.end(decodeVector(JSON.parse(message.vector)));
        break;
      }
      case 'delta': {
        const delta = decodeDelta(JSON.parse(message.delta), receiver.replica.limits);
        if (delta.kind === 'ops') this.#countLate(receiver, delta.ops);
        const before = receiver.replica.vector();
        receiver.replica.applyDelta(delta);
        if (delta.kind === 'snapshot') for (const [k, op] of message.log) receiver.log.set(k, op);
        else for (const op of delta.ops) if (op.seq > (before[op.stamp.node]?.seq ?? 0)) receiver.log.set(opKey(op), op);
        break;
      }
      case 'frontier':
        receiver.membership.heard(message.sender, decodeVectorMessage(JSON.parse(message.message)), this.time);
        break;
    }
  }

  // The receiver has a link with `from`: it counts the sender as a member, and an address that
  // now answers with another id means the old one is gone for good.
  #contact(receiver: Peer, from: number, sender: NodeId): void {
    const before = receiver.known.get(from);
    if (before === sender) return;
    if (before !== undefined) receiver.membership.replaced(before, sender);
    receiver.membership.join(sender);
    receiver.known.set(from, sender);
  }

  // An op new to the receiver but stamped at or below what it folded: the GC was unsafe.
  #countLate(receiver: Peer, ops: readonly Op[]): void {
    for (const op of ops) if (receiver.replica.isLate(op)) this.stats.lateOps++;
  }

  #gossip(peer: Peer): void {
    const message = JSON.stringify(encodeVectorMessage(peer.membership.message(peer.replica)));
    for (const other of this.peers.keys()) if (other !== peer.slot) this.#send(peer.slot, other, { type: 'frontier', sender: peer.replica.id, message });
  }

  // One replica folds on its own, from what it heard: only once it has heard from every slot.
  #collectLocal(peer: Peer): boolean {
    const ready = [...this.peers.keys()].every((slot) => slot === peer.slot || peer.known.has(slot));
    const horizon = peer.membership.horizon(peer.replica.frontier(), ready, FRONTIER_MAX_AGE, this.time);
    if (horizon === undefined) return false;
    peer.replica.collect(horizon);
    return true;
  }

  #crash(): void {
    const victim = this.rng.pick([...this.peers.values()]);
    // What the victim held that some other replica also held was acknowledged by the system.
    for (const [k, op] of victim.log) {
      for (const other of this.peers.values()) {
        if (other !== victim && other.log.has(k)) {
          this.acknowledged.set(k, op);
          break;
        }
      }
    }
    this.peers.delete(victim.slot);
    for (const key of [...this.links.keys()]) {
      const [from, to] = key.split('>').map(Number);
      if (from === victim.slot || to === victim.slot) this.links.delete(key);
    }
    this.stats.crashes++;
    // It comes back with no state, under a new id, and asks someone for everything. With GC by
    // gossip it comes back at the same slot: its address now answers with another id.
    const reborn = this.gc === 'gossip' ? this.#spawn(victim.slot) : this.#spawn();
    const helper = this.rng.pick([...this.peers.values()].filter((peer) => peer !== reborn));
    // Its handshake with the helper: a hub reads its peer's clock there, so its own writes are
    // stamped after anything the group may have folded (see PeerMesh).
    reborn.replica.observe(helper.replica.frontier().clock);
    this.#requestSync(reborn, helper.slot);
  }

  #collect(): void {
    if (this.gc === 'gossip') {
      // Half the time every replica tells its frontier (the hubs do every 100 ms), half the
      // time one replica folds with what it heard.
      if (this.rng.chance(0.5)) for (const peer of this.peers.values()) this.#gossip(peer);
      else if (this.#collectLocal(this.rng.pick([...this.peers.values()]))) this.stats.collections++;
      return;
    }
    // A GC round needs a current frontier from every live replica, so it only runs while
    // every replica is reachable; a stale frontier could hide an op still in flight.
    if (this.cuts.size > 0) return;
    const frontiers: Frontier[] = [...this.peers.values()].map((peer) => peer.replica.frontier());
    const horizon = computeHorizon(frontiers);
    if (horizon === undefined) return;
    for (const peer of this.peers.values()) if (this.rng.chance(0.7)) peer.replica.collect(horizon);
    this.stats.collections++;
  }

  #partition(): void {
    const slots = [...this.peers.keys()];
    const a = this.rng.pick(slots);
    for (const b of slots) if (b !== a && this.rng.chance(0.7)) this.cuts.add(`${Math.min(a, b)}|${Math.max(a, b)}`);
    // A cut loses whatever was in flight on it (a delta half received stays half received).
    for (const key of [...this.links.keys()]) {
      const [from, to] = key.split('>').map(Number) as [number, number];
      if (this.#isCut(from, to)) {
        this.links.delete(key);
        this.#receiving.delete(key);
      }
    }
  }

  #heal(): void {
    const healed = [...this.cuts];
    this.cuts.clear();
    for (const pair of healed) {
      const [a, b] = pair.split('|').map(Number) as [number, number];
      const peerA = this.peers.get(a);
      const peerB = this.peers.get(b);
      if (peerA !== undefined && peerB !== undefined) {
        this.#requestSync(peerA, b);
        this.#requestSync(peerB, a);
      }
    }
  }

  /** Runs `steps` random steps, then heals everything and lets the network go quiet. */
  run(steps: number): SimulationResult {
    let crashed = false;
    for (let step = 0; step < steps; step++) {
      this.stats.steps++;
      const roll = this.rng.next();
      const peers = [...this.peers.values()];
      if (roll < 0.35) this.#write(this.rng.pick(peers));
      else if (roll < 0.45) this.#flush(this.rng.pick(peers));
      else if (roll < 0.8) {
        const busy = [...this.links.entries()].filter(([, queue]) => queue.length > 0).map(([key]) => key);
        if (busy.length > 0) this.#deliver(this.rng.pick(busy));
      } else if (roll < 0.86) this.time += this.rng.int(0, 30);
      else if (roll < 0.88) this.rng.pick(peers).skew -= this.rng.int(1, 100); // a wall clock jumps back
      else if (roll < 0.9) this.#partition();
      else if (roll < 0.92) this.#heal();
      else if (roll < 0.95) {
        const peer = this.rng.pick(peers);
        const other = this.rng.pick(peers.filter((p) => p !== peer));
        this.#requestSync(peer, other.slot);
      } else if (roll < 0.97) this.#collect();
      else if (roll < 0.975 && !crashed) {
        crashed = true;
        this.#crash();
      }
    }
    this.settle();
    return this.stats;
  }

  /** Heals every cut, stops losing messages, and syncs every pair until nothing moves. */
  settle(): void {
    this.#dropping = false;
    this.#heal();
    for (const peer of this.peers.values()) this.#flush(peer);
    for (let round = 0; round < 10; round++) {
      this.#drain();
      for (const peer of this.peers.values()) for (const other of this.peers.keys()) if (other !== peer.slot) this.#requestSync(peer, other);
      this.#drain();
      if (this.#converged()) return;
    }
  }

  #drain(): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const busy = [...this.links.entries()].filter(([, queue]) => queue.length > 0).map(([key]) => key);
      if (busy.length === 0) return;
      this.#deliver(this.rng.pick(busy));
    }
    throw new Error('the network never went quiet');
  }

  #converged(): boolean {
    const states = [...this.peers.values()].map((peer) => JSON.stringify(peer.replica.get()));
    return states.every((state) => state === states[0]);
  }

  /** Every op some surviving replica received: what the final state must be the replay of. */
  received(): Map<string, Op> {
    const all = new Map<string, Op>();
    for (const peer of this.peers.values()) for (const [k, op] of peer.log) all.set(k, op);
    return all;
  }

  oracle(): unknown {
    return oracleState(this.received().values());
  }

  /** Runs a final GC round with current frontiers (everyone is connected after settle). */
  collectAll(): void {
    if (this.gc === 'gossip') {
      for (const peer of this.peers.values()) this.#gossip(peer);
      this.#drain();
      for (const peer of this.peers.values()) this.#collectLocal(peer);
      return;
    }
    const horizon = computeHorizon([...this.peers.values()].map((peer) => peer.replica.frontier()));
    if (horizon !== undefined) for (const peer of this.peers.values()) peer.replica.collect(horizon);
  }
}
