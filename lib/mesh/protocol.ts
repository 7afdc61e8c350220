/**
 * The hub-to-hub protocol, over any link (mesh/session.ts runs it on one). On every link, both
 * ways at once, a handshake (hellos, the clock check, with a secret a challenge-response); then
 * the hub that dialed streams its writes to the other (the seed's dual one-way links):
 *
 *   receiver                           sender (dialed the link)
 *     vector (its version vector) -->
 *                                 <--  delta ... delta, synced   (or snapshot: behind GC)
 *                                 <--  ops, ops, ...             (live, batched per turn)
 *     vector (gap, anti-entropy)  -->
 *                                 <--  delta ..., synced
 *     frontier (every GC pace)    -->  (no answer: it feeds GC)
 *     ping either way when idle; three heartbeats of silence drop the link
 *
 * The protocol sees only links and the clock it is given (mesh/clock.ts): TCP (mesh/tcp/) and
 * the simulator (test/helpers/simulator.ts) hand it links and a direction. It keeps the group's
 * membership for GC (mesh/membership.ts) and tells the GC horizon it may fold at.
 */
import { EventEmitter } from 'node:events';
import { ProtocolError, type PeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { NodeId, Stamp } from '../core/clock.js';
import type { Op } from '../core/op.js';
import type { Replica } from '../core/replica.js';
import type { Link } from '../links/link.js';
import { newIncarnation } from '../wire/auth.js';
import type { GroupMessage, VectorMessage, WirePeerFrame } from '../wire/peer.js';
import type { MeshClock } from './clock.js';
import { peerFailure, Rejections, type LinkContext } from './failures.js';
import { peerLag, type PeerLag } from './lag.js';
import type { PeerInfo } from './handshake.js';
import { groupHorizon, Membership } from './membership.js';
import { Receiver } from './receiver.js';
import { Sender } from './sender.js';
import { PeerSession, type Direction, type SessionContext, type SessionHost, type StreamRole } from './session.js';
import type { ProtocolSettings } from './types.js';

/** Events of the protocol, for its transport and its hub. */
export interface ProtocolEvents {
  /** This hub's stream to a peer is synced and live. */
  'peer:up': [id: string, address: string];
  /** This hub's stream to a peer was lost. */
  'peer:down': [id: string, address: string];
  /**
   * A link to a peer was refused or failed; `warnOnceAs` is the key to give a process warning
   * once under when nobody listens (undefined: not worth a warning, such as a cut link).
   */
  'peer:error': [error: PeerError, warnOnceAs: string | undefined];
  /** A session's handshake is done. */
  'session:open': [session: PeerSession];
  /** A session ended; `reason` when it failed (its `code` says why). */
  'session:close': [session: PeerSession, reason: Error | undefined];
  /**
   * What this hub knows of its group changed (once a turn at most): for a hub that keeps its
   * state on disk to keep this too (see `restoreGroup`).
   */
  group: [group: GroupMessage];
}

// Failures of a link that worked, or of one still being set up: reported, never warned about.
const TRANSIENT: ReadonlySet<string> = new Set(['ERR_COLLECTIVE_PEER_SILENT', 'ERR_COLLECTIVE_PEER_LAGGING', 'ERR_COLLECTIVE_HANDSHAKE_TIMEOUT']);

/** The peer protocol of one hub: its sessions with other hubs, its writes streamed to them, and GC membership. */
export class PeerProtocol extends EventEmitter<ProtocolEvents> implements SessionHost {
  readonly replica: Replica;
  readonly clock: MeshClock;
  readonly settings: ProtocolSettings;
  readonly log: Logger;
  /** This start of this hub, told in every hello (see Hello.incarnation). */
  readonly incarnation = newIncarnation();
  readonly #sessions = new Set<PeerSession>();
  readonly #senders = new Map<PeerSession, Sender>();
  readonly #membership: Membership;
  readonly #rejections = new Rejections();
  // Whether any of this hub's own ops has left it: until then, a hub that wrote before joining
  // a group that folded past its stamps can still restamp them (Replica.restampOwn).
  #ownShared = false;
  #flushScheduled = false;
  #groupChangeScheduled = false;
  #closed = false;

  constructor(replica: Replica, settings: ProtocolSettings, clock: MeshClock, log: Logger) {
    super();
    this.replica = replica;
    this.settings = settings;
    this.clock = clock;
    this.log = log;
    this.#membership = new Membership(replica.id, () => this.#groupChanged());
  }

  // Told once a turn: one change often brings others (a group message joins and retires many).
  #groupChanged(): void {
    if (this.#groupChangeScheduled) return;
    this.#groupChangeScheduled = true;
    this.clock.defer(() => {
      this.#groupChangeScheduled = false;
      if (!this.#closed) this.emit('group', this.#membership.group());
    });
  }

  /**
   * Runs the protocol on a new link: `out` when this hub dialed it (it streams its writes on
   * it), `in` when the peer did. The session reports back through the events.
   */
  open(link: Link<WirePeerFrame>, direction: Direction, context: SessionContext): PeerSession {
    if (this.#closed) {
      link.close();
      throw new ProtocolError('the hub is closed');
    }
    const session = new PeerSession(this, link, direction, context);
    if (!session.closed) this.#sessions.add(session);
    return session;
  }

  /** @internal The session's handshake is done: the stream role it runs, or undefined if it was closed. */
  established(session: PeerSession): StreamRole | undefined {
    const peer = session.peer!;
    if (session.direction === 'out') {
      // Whoever lived at this address before, and is not who answers now, restarted without
      // its state: gone for good.
      for (const before of this.#membership.reached(peer.id, session.context.address)) {
        this.log('%s now answers as %s: %s restarted without its state, and is gone for good', session.context.address, peer.id, before);
      }
      for (const other of this.#senders.keys()) {
        if (other === session || other.closed || other.peer?.id !== peer.id) continue;
        // The same hub started again with its state: the link to its life before is dead, though
        // it may not have been seen to close yet. The new one stands.
        if (other.peer.incarnation !== peer.incarnation) {
          this.log('%s restarted (as itself): dropping the link to its life before', peer.id);
          other.close(new ProtocolError(`${peer.id} restarted`, 'ERR_COLLECTIVE_PEER_RESTARTED'));
          continue;
        }
        // Two addresses can reach one hub (a configured one and one dialed back): keep one stream.
        session.close(new ProtocolError(`${session.context.address} is ${peer.id}, already linked at ${other.context.address}`, 'ERR_COLLECTIVE_DUPLICATE_ROUTE'));
        return undefined;
      }
    }
    this.#joined(peer);
    if (session.direction === 'in' && session.context.place !== undefined) this.#membership.livesAt(peer.id, session.context.place);
    this.emit('session:open', session);
    if (session.direction === 'in') {
      this.log('%s is %s: receiving its stream', session.link.label, peer.id);
      return new Receiver(session, this, this.settings.antiEntropyMs);
    }
    const sender = new Sender(session, {
      replica: this.replica,
      now: () => this.clock.now(),
      antiEntropyMs: this.settings.antiEntropyMs,
      heard: (id, message) => this.#heard(id, message),
      group: () => this.#membership.group(),
      shared: () => {
        this.#ownShared = true;
      },
      up: () => {
        this.log('linked to %s (%s)', session.context.address, peer.id);
        this.emit('peer:up', peer.id, session.context.address);
      },
    });
    this.#senders.set(session, sender);
    return sender;
  }

  /** @internal A session's link closed. */
  closed(session: PeerSession, reason: Error | undefined): void {
    this.#sessions.delete(session);
    const sender = this.#senders.get(session);
    this.#senders.delete(session);
    if (sender?.up === true) {
      this.log('lost the link to %s (%s)', session.context.address, session.peer!.id);
      this.emit('peer:down', session.peer!.id, session.context.address);
    }
    const { address, warnAs } = session.context;
    this.#report(reason, { address, peer: session.said, connected: true, tls: false }, TRANSIENT.has(errorCode(reason)) ? undefined : warnAs);
    this.emit('session:close', session, reason);
  }

  /**
   * A transport's link failed before the protocol ran on it (a dial refused, a TLS handshake
   * failed): reported like the failures of sessions. `warnOnceAs` as in `peer:error`.
   */
  failed(reason: Error | undefined, context: LinkContext, warnOnceAs: string | undefined): void {
    this.#report(reason, context, warnOnceAs);
  }

  #report(reason: Error | undefined, context: LinkContext, warnOnceAs: string | undefined): void {
    const failure = peerFailure(reason, context);
    if (failure === undefined || this.#closed) return;
    this.#rejections.count(failure.code);
    this.emit('peer:error', failure, warnOnceAs);
  }

  // A peer's frontier: for GC, and for the horizon it folded at (ops at or below it that come
  // later are refused here too, so that they never spread to hubs that would fold past them).
  #heard(id: NodeId, message: VectorMessage): void {
    this.#membership.heard(id, message, this.clock.now());
    if (message.folded !== undefined && this.replica.heardFold(message.folded, message.vector)) {
      this.log('%s folded at %d.%d: ops stamped at or below it are late here too', id, message.folded.wall, message.folded.count);
    }
  }

  // A hub linked: it counts for GC from now on, and this hub stamps its writes after the peer's
  // clock and horizon (anything the peer's group folded is older). If this hub has shared none
  // of its own ops yet and the peer folded past some of them, they are restamped first.
  #joined(peer: PeerInfo): void {
    this.#membership.join(peer.id);
    // The peer's clock is at or past its horizon, and past the horizon of any hub that heard
    // from it before: writes stamped after it are safe with all of them.
    const clock = peer.hybrid ?? peer.horizon;
    if (clock === undefined) return;
    if (!this.#ownShared && peer.horizon !== undefined && this.replica.restampOwn(peer.horizon, clock)) {
      this.log('restamped the writes made before joining: %s folded past them', peer.id);
    }
    this.replica.observe(clock);
  }

  /** @internal What a peer's sending end knows of the group (ReceiverHost). */
  heardGroup(group: GroupMessage): void {
    this.#membership.heardGroup(group);
  }

  /** @internal This hub's vector message: what every receiving end sends its sender. */
  frontier(): VectorMessage {
    return this.#membership.message(this.replica);
  }

  /** Streams an op this hub stamped to every peer its stream reaches (batched per turn). */
  localOp(op: Op): void {
    if (op.stamp.node !== this.replica.id) return;
    let any = false;
    for (const sender of this.#senders.values()) {
      if (!sender.up) continue;
      sender.outbox.push(op);
      any = true;
    }
    if (!any) return;
    this.#ownShared = true;
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    this.clock.defer(() => this.flush());
  }

  /** Sends the live ops waiting for every peer now (the end of a turn does it by itself). */
  flush(): void {
    this.#flushScheduled = false;
    for (const sender of this.#senders.values()) sender.flush();
  }

  /**
   * The GC horizon this hub may fold at now, or undefined. `ready` is the transport's word that
   * every peer it was told of has been reached and is linked; and every member of the group
   * must have sent a recent frontier (mesh/membership.ts). Never later than GC_LAG_MS behind
   * wall time: a hub linking right now (its handshake in flight, the group not yet told of it)
   * stamps its writes at about now.
   */
  horizon(ready: boolean): Stamp | undefined {
    return groupHorizon(this.#membership, this.replica, ready, 3 * this.settings.antiEntropyMs + 1000, this.clock.now(), this.log);
  }

  /**
   * The ids this hub's persisted state was kept under before its current one: retired (see
   * Membership.predecessors), and told to the group with the rest of what this hub knows.
   */
  predecessors(ids: readonly NodeId[]): void {
    this.#membership.predecessors(ids);
  }

  /**
   * What this hub knew of its group before it restarted (kept on disk from the `group` event),
   * after `predecessors`. Nobody alive may know it any more: without it, the ops of a hub that
   * every hub which met it has since forgotten (all restarted) would keep GC waiting for that
   * hub forever, where knowing its address lets the group retire it once another id answers
   * there.
   */
  restoreGroup(group: GroupMessage): void {
    this.#membership.heardGroup(group);
  }

  /** The open sessions. */
  sessions(): IterableIterator<PeerSession> {
    return this.#sessions.values();
  }

  /** How many sessions are open (their handshake done or not). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Whether this hub's stream on `session` is synced and live. */
  isUp(session: PeerSession): boolean {
    return this.#senders.get(session)?.up === true;
  }

  /**
   * How far `id` trails this hub's writes, and how far its clock is ahead of this hub's
   * (its clock in its latest frontier less this hub's when it came: the one-way delay
   * included), from its latest frontier; undefined before one came.
   */
  lag(id: string): (PeerLag & { clockOffsetMs: number }) | undefined {
    const heard = this.#membership.latest(id as NodeId);
    if (heard === undefined) return undefined;
    return { ...peerLag(this.replica.vector(), heard.frontier.vector, this.replica.id), clockOffsetMs: heard.frontier.clock.wall - heard.at };
  }

  /** How many other hubs GC counts as members of the group. */
  get members(): number {
    return this.#membership.counts.members;
  }

  /** Links refused or dropped, by code. */
  get rejections(): Rejections {
    return this.#rejections;
  }

  /** Closes every session; nothing is reported from here on. */
  close(): void {
    this.#closed = true;
    for (const session of [...this.#sessions]) session.close();
  }
}

function errorCode(reason: Error | undefined): string {
  return (reason as { code?: unknown } | undefined)?.code as string;
}
